//! Settlement windows, clearing and the scheduler, on SQLite and PostgreSQL. One module per
//! topic.

mod both;
mod cli;
mod outbound;
mod scheduler;
mod statements;
mod verify;
mod window;
