-- Settlement accounts (issue 12): where each participant's money is settled, as the settlement
-- statements (camt.053) and instructions (pacs.009) name it: an account id and its agent, a
-- BIC and/or a clearing-system member id with its clearing system. NULL for participants added
-- before; `hutong participants settlement` sets them, and producing a window's outputs fails
-- for a participant with a position and no account.
ALTER TABLE participants ADD COLUMN settlement_account_id TEXT;
ALTER TABLE participants ADD COLUMN settlement_bic TEXT;
ALTER TABLE participants ADD COLUMN settlement_clearing_system TEXT;
ALTER TABLE participants ADD COLUMN settlement_member_id TEXT;
