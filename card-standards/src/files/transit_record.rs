//! 001A of a T-Union card: the public-transport composite record (变长记录), 128 bytes.

use chrono::NaiveDateTime;

use super::{CardFile, FieldReader, FieldWriter};
use crate::error::Result;

/// One end of a trip as 001A stores it (boarding or alighting).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TripPoint {
    /// City code.
    pub city: [u8; 2],
    /// Institution code (机构代码).
    pub institution: [u8; 8],
    /// Operator code (运营代码).
    pub operator: [u8; 2],
    /// Line number (binary, high byte first).
    pub line: u16,
    /// Station number.
    pub station: u8,
    /// Vehicle number (ASCII).
    pub vehicle: [u8; 8],
    /// Terminal number (BCD).
    pub terminal: [u8; 8],
    /// Time; `None` when unset (all zeros).
    pub time: Option<NaiveDateTime>,
}

/// One 001A record, the bus application record `27 02` [S: alon0808/ProjectAfcApp stJTB1A,
/// whose fields fill the 128 bytes exactly; SmartCard ticket.cpp `jtb_updata_more_complex`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitRecord {
    /// 0–1 record identifier, e.g. `27 02` (public bus information).
    pub record_id: [u8; 2],
    /// 2 length byte (0x7D in the samples).
    pub len: u8,
    /// 3 valid flag (01).
    pub valid: u8,
    /// 4 transaction flag: 1 segmented / composite, 2 pre-authorised.
    pub tx_flag: u8,
    /// 5 application lock: 0 unlocked, 1 locked.
    pub locked: u8,
    /// 6–13 transaction serial (BCD).
    pub tx_serial: [u8; 8],
    /// 14 trip state: 00 initial, 01 boarded, 02 alighted.
    pub state: u8,
    /// 15–52 boarding.
    pub boarding: TripPoint,
    /// 53–56 fare to charge if the rider never taps out (标注金额).
    pub max_fare: u32,
    /// 57 direction.
    pub direction: u8,
    /// 58–95 alighting.
    pub alighting: TripPoint,
    /// 96–99 amount charged, fen.
    pub amount: u32,
    /// 100–101 distance travelled.
    pub mileage: u16,
    /// 102–103 city code of the reserved area.
    pub reserved_city: [u8; 2],
    /// 104–107 driver number.
    pub driver: [u8; 4],
    /// 108–111 conductor number.
    pub conductor: [u8; 4],
    /// 112–113 trip number (趟次).
    pub trip_no: u16,
    /// 114–115 maximum trip time in minutes.
    pub max_minutes: u16,
    /// 116–125 station name (ASCII/GBK).
    pub station_name: [u8; 10],
    /// 126–127 RFU.
    pub rfu: [u8; 2],
}

fn read_point(r: &mut FieldReader<'_>, field: &'static str) -> Result<TripPoint> {
    Ok(TripPoint {
        city: r.take(),
        institution: r.take(),
        operator: r.take(),
        line: r.u16(),
        station: r.u8(),
        vehicle: r.take(),
        terminal: r.take(),
        time: r.optional_datetime(field)?,
    })
}

fn write_point(w: &mut FieldWriter, p: &TripPoint) {
    w.put(&p.city)
        .put(&p.institution)
        .put(&p.operator)
        .put(&p.line.to_be_bytes())
        .put(&[p.station])
        .put(&p.vehicle)
        .put(&p.terminal)
        .optional_datetime(p.time);
}

impl CardFile for TransitRecord {
    const NAME: &'static str = "001A record";
    const LEN: usize = 128;

    fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = FieldReader::new(Self::NAME, Self::LEN, bytes)?;
        Ok(TransitRecord {
            record_id: r.take(),
            len: r.u8(),
            valid: r.u8(),
            tx_flag: r.u8(),
            locked: r.u8(),
            tx_serial: r.take(),
            state: r.u8(),
            boarding: read_point(&mut r, "001A boarding time")?,
            max_fare: r.u32(),
            direction: r.u8(),
            alighting: read_point(&mut r, "001A alighting time")?,
            amount: r.u32(),
            mileage: r.u16(),
            reserved_city: r.take(),
            driver: r.take(),
            conductor: r.take(),
            trip_no: r.u16(),
            max_minutes: r.u16(),
            station_name: r.take(),
            rfu: r.take(),
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = FieldWriter::default();
        w.put(&self.record_id)
            .put(&[self.len, self.valid, self.tx_flag, self.locked])
            .put(&self.tx_serial)
            .put(&[self.state]);
        write_point(&mut w, &self.boarding);
        w.put(&self.max_fare.to_be_bytes()).put(&[self.direction]);
        write_point(&mut w, &self.alighting);
        w.put(&self.amount.to_be_bytes())
            .put(&self.mileage.to_be_bytes())
            .put(&self.reserved_city)
            .put(&self.driver)
            .put(&self.conductor)
            .put(&self.trip_no.to_be_bytes())
            .put(&self.max_minutes.to_be_bytes())
            .put(&self.station_name)
            .put(&self.rfu);
        w.finish(Self::LEN)
    }
}
