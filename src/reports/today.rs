//! Today so far against the same time a week before, for the live report: the visits that began
//! on a shop-local day before a time of it.

use chrono::NaiveDate;

use super::query::{Days, Totals};
use super::rollup::{Cell, RowFigures};
use crate::store::{self, ReadTx};

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
