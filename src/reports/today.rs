//! Today so far against the same time a week before, for the live report: today's figures are
//! its day's cell; the week before's are the visits that began on that day by the same time.

use chrono::NaiveDate;

use super::query::{Days, Totals};
use super::rollup::{ALL, Cell, Dim, RowFigures};
use crate::store::{self, ReadTx};

/// The figures of the visits that began on `day` (bots' left out): its cell, kept by the
/// follower, read whole. For today this is today so far: a visit begun today has begun by now
/// (but for an event sent with a clock ahead of ours).
pub fn day(read: &ReadTx, day: NaiveDate) -> Result<Totals, store::Error> {
    let number = *Days { from: day, to: day }.numbers().start();
    let cell: Option<Cell> = read.web_cell((number, Dim::All as u8, ALL))?;
    Ok(Totals::of(&cell.unwrap_or_default()))
}

/// The figures of the visits that began on `day` at or before `until` (unix millis); bots' left
/// out. A visit counts whole, with the events it had after `until` too.
pub fn so_far(read: &ReadTx, day: NaiveDate, until: i64) -> Result<Totals, store::Error> {
    let mut cell = Cell::default();
    read.for_each_web_visit(Days { from: day, to: day }.numbers(), |_, customer, start, bytes| {
        if start <= until {
            // Its figures only, read field by field: the live report asks every few seconds.
            let row = RowFigures::read(bytes)?;
            if !row.bot {
                cell.add_visit(customer, start, &row);
            }
        }
        Ok(true)
    })?;
    Ok(Totals::of(&cell))
}
