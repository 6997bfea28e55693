//! Saving a segment as both edges do: the record written, then its members counted at once (as
//! the nightly run counts every segment), so that no page shows a segment saved a minute ago as
//! empty only because midnight has not come.

use super::AppState;
use crate::segment::rule::Rule;
use crate::segment::saved::{self, SegmentError, SegmentInput, SegmentRecord};

/// Saves `input` as a new segment (`id` None) or over segment `id`, then counts it; its id.
pub async fn save(st: &AppState, id: Option<u64>, input: SegmentInput) -> Result<u64, SegmentError> {
    let id = match id {
        None => saved::create(&st.store, input, st.now_ms()).await?,
        Some(id) => {
            saved::update(&st.store, id, input, st.now_ms()).await?;
            id
        }
    };
    count(st, id).await?;
    Ok(id)
}

/// Counts segment `id`'s members now and writes them as today's; false when the customer columns
/// are still being built after a start (the segment is then evaluated where it is used, and
/// counted by the nightly run).
pub async fn count(st: &AppState, id: u64) -> Result<bool, SegmentError> {
    if !st.columns.read().expect("not poisoned").ready() {
        return Ok(false);
    }
    let state = st.clone();
    let counted = st
        .store
        .call(move |s| -> Result<_, SegmentError> {
            let read = s.read()?;
            let rec: SegmentRecord = read.segment(id)?.ok_or(SegmentError::NotFound(id))?;
            let rule = Rule::parse(&rec.rule)?;
            let counted = state.with_env(&read, |env| saved::count(env, id, &rec, &rule).map(|c| (c, env.now)))?;
            Ok(counted)
        })
        .await?;
    let (counted, now) = counted;
    let today = crate::analysis::local_day(now, st.tz);
    st.store
        .write(move |tx| {
            // A segment deleted meanwhile is not brought back by its count.
            if tx.segment::<SegmentRecord>(id)?.is_none() {
                return Ok(false);
            }
            saved::put_counted(tx, id, today, &counted, now)?;
            Ok::<_, SegmentError>(true)
        })
        .await
}
