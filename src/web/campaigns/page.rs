//! A campaign's page: its settings in words, the estimated audience (예상규모), a preview for one
//! customer, a test send, Launch and Pause, and the report with a chart per day.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::super::chart::{Day, DayChart, two_bars};
use super::super::frame::Frame;
use super::super::rule_words::{RuleLine, rule_lines};
use super::super::{Staff, failed, find_customer, refuse_change, render};
use crate::app::AppState;
use crate::campaign::report::{self, DayReport, Report};
use crate::campaign::settings::Settings;
use crate::campaign::templates;
use crate::campaign::{self, CampaignError, CampaignRecord, Late, Repeat, Status, When};
use crate::coupon::CouponRecord;
use crate::i18n::{self, Catalog, Lang};
use crate::segment::saved::SegmentRecord;

use super::*;

/// A message above the page: how a test send or a launch went.
pub struct Notice {
    pub ok: bool,
    /// The element's id.
    pub id: &'static str,
    pub text: String,
}

/// The message one customer would get now.
pub struct PreviewView {
    pub customer_id: u64,
    /// The customer's name and email, as far as known.
    pub who: String,
    /// The address it would go to.
    pub to: String,
    /// `send`, `hold_until` or `skip`.
    pub verdict: String,
    pub verdict_text: String,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
}

pub struct Stat {
    pub id: &'static str,
    pub label: &'static str,
    pub value: String,
    /// The figure as a rate of the messages sent ("opened 24.0%"); empty for a plain count.
    pub rate: String,
}

pub struct DayRow {
    pub day: String,
    pub targeted: String,
    pub held: String,
    pub skipped: String,
    pub sent: String,
    pub failed: String,
    pub opened: String,
    pub clicked: String,
    pub unsubscribed: String,
    pub conversions: String,
    pub revenue: String,
}

pub struct ReportView {
    pub stats: Vec<Stat>,
    /// (reason, count) of the skipped messages.
    pub skipped: Vec<(String, String)>,
    /// "Order Completed within 120 hours".
    pub goal: String,
    /// Newest first.
    pub days: Vec<DayRow>,
    pub chart: Option<DayChart>,
    /// The experiment's card, when the campaign runs one.
    pub experiment: Option<super::experiment::ExperimentView>,
}

pub(super) fn skip_label(t: &Catalog, reason: &str) -> String {
    t.find(&format!("campaigns.skip_{reason}"))
        .map_or_else(|| reason.to_string(), str::to_string)
}

/// Why a launch is refused, in the staff member's language: what the messaging settings lack
/// (`campaigns.refusal.*`, by the refused field), else the error as the API says it.
pub(super) fn refusal(t: &Catalog, e: &CampaignError) -> String {
    match e {
        CampaignError::Field { field, message } => t
            .find(&format!("campaigns.refusal.{}", field.replace('.', "_")))
            .map_or_else(|| format!("{field}: {message}"), str::to_string),
        e => e.to_string(),
    }
}

/// The per-day chart of sent messages and conversions, oldest day first; None without days.
pub(super) fn chart(days: &[DayReport], t: &Catalog) -> Option<DayChart> {
    let days: Vec<Day> = days
        .iter()
        .map(|d| Day {
            day: &d.day,
            a: d.counts.sent,
            b: d.conversions,
        })
        .collect();
    two_bars(
        &days,
        t.get("campaigns.chart_about"),
        t.get("campaigns.sent"),
        t.get("campaigns.conversions"),
    )
}

pub(super) fn report_view(r: &Report, t: &'static Catalog, lang: Lang) -> ReportView {
    let money = |v: f64| i18n::money(v, None, lang);
    let c = &r.totals;
    let stat = |id: &'static str, key: &str, value: String| Stat {
        id,
        label: t.get(key),
        value,
        rate: String::new(),
    };
    // Opens, clicks and unsubscribes as shares of the messages sent, as email tools show them.
    let of_sent = |id: &'static str, key: &str, n: u64| Stat {
        rate: if c.sent == 0 {
            String::new()
        } else {
            t.get("campaigns.of_sent")
                .replace("{rate}", &i18n::percent(n as f64 / c.sent as f64))
        },
        ..stat(id, key, count(n))
    };
    ReportView {
        stats: vec![
            stat("total-targeted", "campaigns.targeted", count(c.targeted)),
            stat("total-held", "campaigns.held", count(c.held)),
            stat("total-skipped", "campaigns.skipped", count(c.skipped.values().sum())),
            stat("total-sent", "campaigns.sent", count(c.sent)),
            stat("total-failed", "campaigns.failed", count(c.failed)),
            of_sent("total-opened", "campaigns.opened", c.opened),
            of_sent("total-clicked", "campaigns.clicked", c.clicked),
            of_sent("total-unsubscribed", "campaigns.unsubscribed", c.unsubscribed),
            stat("total-conversions", "campaigns.conversions", count(r.conversions)),
            stat(
                "total-conversion-rate",
                "campaigns.conversion_rate",
                i18n::percent(r.conversion_rate),
            ),
            stat("total-revenue", "campaigns.revenue", money(r.revenue)),
        ],
        skipped: c
            .skipped
            .iter()
            .map(|(reason, n)| (skip_label(t, reason), count(*n)))
            .collect(),
        goal: t
            .get("campaigns.goal_text")
            .replace("{event}", &i18n::event_name(t, &r.goal))
            .replace("{hours}", &r.window_hours.to_string()),
        days: r
            .days
            .iter()
            .rev()
            .map(|d| DayRow {
                day: d.day.clone(),
                targeted: count(d.counts.targeted),
                held: count(d.counts.held),
                skipped: count(d.counts.skipped.values().sum()),
                sent: count(d.counts.sent),
                failed: count(d.counts.failed),
                opened: count(d.counts.opened),
                clicked: count(d.counts.clicked),
                unsubscribed: count(d.counts.unsubscribed),
                conversions: count(d.conversions),
                revenue: money(d.revenue),
            })
            .collect(),
        chart: chart(&r.days, t),
        experiment: r.experiment.as_ref().map(|e| super::experiment::view(e, t, lang)),
    }
}

#[derive(Template)]
#[template(path = "campaign/show.html")]
pub(super) struct ShowPage {
    f: Frame,
    id: u64,
    name: String,
    status: &'static str,
    status_label: &'static str,
    /// The ready-made campaign it was made from, by name.
    template: Option<&'static str>,
    /// (label, value) rows of its settings in words.
    details: Vec<(&'static str, String)>,
    segment: Option<(u64, String)>,
    rule: Vec<RuleLine>,
    coupon: Option<(u64, String)>,
    subject: Option<String>,
    text: String,
    html: Option<String>,
    template_code: Option<String>,
    /// The estimate: (audience, reachable), or why there is none.
    estimate: Option<(String, String)>,
    estimate_error: Option<String>,
    /// Before launch, for an experiment: the smallest differences its split of the reachable
    /// people can show (at 2 % and 5 % converting).
    plan: Option<String>,
    /// What Launch would refuse now (the messaging settings the law or the channel needs).
    blocker: Option<String>,
    can_launch: bool,
    can_pause: bool,
    preview_query: String,
    preview: Option<PreviewView>,
    preview_error: Option<String>,
    test_to: String,
    test_customer: String,
    notice: Option<Notice>,
    report: ReportView,
    /// Launch pressed, not yet confirmed: what it will do, in words ("Sends to 1,840 people now").
    confirm: Option<String>,
    /// The latest messages whose recipients did what `did` picks, and the choices.
    recipients: Vec<RecipientRow>,
    did: &'static str,
    dids: Vec<(&'static str, &'static str)>,
}

/// How many recipients the page lists (the CSV has them all).
const RECIPIENTS_SHOWN: usize = 100;

/// One message of the campaign and what its recipient did, for the recipients list.
pub struct RecipientRow {
    pub customer: u64,
    pub who: String,
    pub channel: &'static str,
    pub address: String,
    /// `sent`, `failed`, `skipped`, `queued`, … (a class), and in words (a skip with its reason).
    pub state: &'static str,
    pub state_text: String,
    /// When it was sent, else queued.
    pub when: String,
    /// What they did after, in words, in order: delivered, opened, clicked, unsubscribed.
    pub did: Vec<&'static str>,
    /// The goals reached after it ("1 · ₩35,000"), empty for none.
    pub converted: String,
}

#[derive(Deserialize, Default)]
pub(super) struct ShowQuery {
    /// A customer id, or a user id or email to find one, for the preview.
    preview_customer: Option<String>,
    /// Which recipients to list: `opened`, `clicked`, `converted`, `unsubscribed`, `not_sent`.
    did: Option<String>,
}

/// What the page shows besides the campaign: a message, the address of a test send.
#[derive(Default)]
pub(super) struct Extras {
    notice: Option<Notice>,
    test_to: String,
    status: Option<StatusCode>,
    /// Launch was pressed: the page asks to confirm it with the audience's size.
    confirm: bool,
    /// Which recipients to list.
    did: Option<String>,
}

pub(super) async fn show(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Query(q): Query<ShowQuery>,
) -> Response {
    let extras = Extras {
        did: q.did,
        ..Extras::default()
    };
    show_page(&st, &staff, id, q.preview_customer, extras).await
}

pub(super) async fn show_page(
    st: &AppState,
    staff: &Staff,
    id: u64,
    preview_q: Option<String>,
    extras: Extras,
) -> Response {
    let (tz, lang, t) = (st.tz, staff.lang, staff.t);
    struct Loaded {
        rec: CampaignRecord,
        settings: Settings,
        report: Report,
        segment: Option<(u64, String)>,
        rule: Vec<RuleLine>,
        coupon: Option<(u64, String)>,
        preview_customer: Option<Option<(u64, String)>>,
        recipients: Vec<RecipientRow>,
    }
    let q = preview_q.clone().filter(|q| !q.trim().is_empty());
    let did = extras
        .did
        .as_deref()
        .and_then(report::Did::parse)
        .unwrap_or(report::Did::Any);
    let loaded = st
        .store
        .call(move |s| -> Result<_, crate::customer::Error> {
            let read = s.read()?;
            let Some(rec) = read.campaign::<CampaignRecord>(id)? else {
                return Ok(None);
            };
            let settings = Settings::load(&read)?;
            let report = report::report(&read, id, &rec, tz)?;
            let recipients = recipient_rows(&read, id, &rec, did, t, lang, tz)?;
            let segment = match rec.definition.audience.segment_id {
                Some(sid) => Some((
                    sid,
                    read.segment::<SegmentRecord>(sid)?
                        .map_or_else(|| format!("#{sid}"), |s| s.name),
                )),
                None => None,
            };
            let rule = match &rec.definition.audience.rule {
                Some(v) => match crate::segment::rule::Rule::parse(v) {
                    Ok(r) => rule_lines(&r, t, lang, &super::super::segments::product_names(&read, v)?),
                    Err(e) => vec![RuleLine {
                        depth: 0,
                        text: format!("{}: {}", e.path, e.expected),
                        group: false,
                    }],
                },
                None => Vec::new(),
            };
            let coupon = match rec.definition.coupon_id {
                Some(cid) => Some((
                    cid,
                    read.coupon::<CouponRecord>(cid)?
                        .map_or_else(|| format!("#{cid}"), |c| c.name),
                )),
                None => None,
            };
            let preview_customer = match &q {
                None => None,
                Some(q) => Some(preview_customer(&read, q)?),
            };
            Ok(Some(Loaded {
                rec,
                settings,
                report,
                segment,
                rule,
                coupon,
                preview_customer,
                recipients,
            }))
        })
        .await;
    let l = match loaded {
        Ok(Some(l)) => l,
        Ok(None) => return not_found(staff),
        Err(e) => return failed(lang, &e),
    };
    let rec = l.rec;
    let input = &rec.definition;

    // 예상규모: how many the audience holds now, and how many the channel may reach.
    super::super::segments::columns_ready(st).await;
    let sender = st.campaigns.clone();
    let (audience, channel, purpose) = (input.audience.clone(), input.channel, input.purpose);
    let (estimate, estimate_error, reachable) =
        match tokio::task::spawn_blocking(move || sender.estimate(&audience, channel, purpose)).await {
            Ok(Ok(e)) => (Some((count(e.audience), count(e.reachable))), None, Some(e.reachable)),
            Ok(Err(e)) => (None, Some(e.to_string()), None),
            Err(e) => (None, Some(e.to_string()), None),
        };

    // The preview for the customer asked for.
    let mut preview_error = None;
    let mut preview = None;
    match l.preview_customer {
        None => {}
        Some(None) => {
            preview_error = Some(
                t.get("campaigns.no_customer")
                    .replace("{q}", preview_q.as_deref().unwrap_or("").trim()),
            );
        }
        Some(Some((cid, who))) => {
            let sender = st.campaigns.clone();
            let rec2 = rec.clone();
            match tokio::task::spawn_blocking(move || sender.preview(id, &rec2, cid)).await {
                Ok(Ok(p)) => {
                    let verdict_text = verdict_words(t, &p);
                    preview = Some(PreviewView {
                        customer_id: p.customer_id,
                        who,
                        to: p.to.unwrap_or_else(|| "—".into()),
                        verdict: p.verdict,
                        verdict_text,
                        subject: p.subject,
                        text: p.text,
                        html: p.html,
                    });
                }
                Ok(Err(e)) => preview_error = Some(e.to_string()),
                Err(e) => preview_error = Some(e.to_string()),
            }
        }
    }

    let none = || "—".to_string();
    let fallbacks: Vec<String> = input.fallbacks.iter().map(|(k, v)| format!("{k} → {v}")).collect();
    let mut details = vec![
        (t.get("campaigns.channel"), channel_label(t, input.channel).to_string()),
        (
            t.get("campaigns.purpose"),
            t.get(&format!("campaigns.purpose_{}", purpose_str(input.purpose)))
                .to_string(),
        ),
        (t.get("campaigns.schedule"), schedule_text(&input.when, t, tz)),
        (
            t.get("campaigns.recommendations"),
            input.recommend.as_ref().map_or_else(none, |r| {
                let name = t
                    .find(&format!("recommend.strategy.{}", r.strategy))
                    .unwrap_or(&r.strategy);
                t.get("campaigns.recommend_text")
                    .replace("{strategy}", name)
                    .replace("{n}", &r.limit.to_string())
            }),
        ),
        (
            t.get("campaigns.fallbacks"),
            if fallbacks.is_empty() {
                none()
            } else {
                fallbacks.join(", ")
            },
        ),
        (
            t.get("campaigns.goal"),
            t.get("campaigns.goal_text")
                .replace("{event}", &i18n::event_name(t, &input.goal.event))
                .replace("{hours}", &(input.window_ms() / 3_600_000).to_string()),
        ),
        (
            t.get("campaigns.repeat"),
            t.get(match input.repeat {
                Repeat::Never => "campaigns.repeat_never",
                Repeat::Daily => "campaigns.repeat_daily",
                Repeat::Each => "campaigns.repeat_each",
            })
            .to_string(),
        ),
        (
            t.get("campaigns.late"),
            t.get(match input.late {
                Late::Send => "campaigns.late_send",
                Late::Skip => "campaigns.late_skip",
            })
            .to_string(),
        ),
        (t.get("campaigns.created"), i18n::datetime(rec.created_at, tz)),
        (t.get("campaigns.updated"), i18n::datetime(rec.updated_at, tz)),
    ];
    if let Some(at) = rec.launched_at {
        details.push((t.get("campaigns.launched"), i18n::datetime(at, tz)));
    }
    details.push((t.get("campaigns.next_due"), next_due_text(&rec, t, tz)));

    let launchable = matches!(rec.status, Status::Draft | Status::Paused);
    let blocker = if launchable {
        l.settings.ready_to_launch(input).err().map(|e| refusal(t, &e))
    } else {
        None
    };
    // What Launch will do, said before it does it: a one-off sends to the audience as it stands
    // (now, or at its time); a daily or triggered one starts with them and goes on.
    let confirm = (extras.confirm && launchable && blocker.is_none()).then(|| {
        let n = reachable.map_or_else(|| "—".to_string(), count);
        let key = match &input.when {
            When::Once { at: None } => "campaigns.confirm_now",
            When::Once { at: Some(_) } => "campaigns.confirm_at",
            _ => "campaigns.confirm_ongoing",
        };
        t.get(key)
            .replace("{n}", &n)
            .replace("{when}", &next_due_text(&rec, t, tz))
    });
    let page = ShowPage {
        f: Frame::new(staff, "campaigns"),
        id,
        status: rec.status.as_str(),
        status_label: status_label(t, rec.status),
        template: input
            .template
            .as_deref()
            .and_then(templates::get)
            .map(|tpl| match lang {
                Lang::Ko => tpl.name_ko,
                Lang::En => tpl.name_en,
            }),
        details,
        segment: l.segment,
        rule: l.rule,
        coupon: l.coupon,
        subject: input.content.subject.clone(),
        text: input.content.text.clone(),
        html: input.content.html.clone(),
        template_code: input.content.template_code.clone(),
        estimate,
        estimate_error,
        plan: (rec.status == Status::Draft)
            .then(|| reachable.zip(rec.definition.design(tz)))
            .flatten()
            .map(|(n, d)| super::experiment::plan(&d, n, t)),
        blocker,
        can_launch: launchable,
        can_pause: rec.status == Status::Active,
        test_customer: preview.as_ref().map(|p| p.customer_id.to_string()).unwrap_or_default(),
        preview_query: preview_q.unwrap_or_default(),
        preview,
        preview_error,
        test_to: extras.test_to,
        notice: extras.notice,
        report: report_view(&l.report, t, lang),
        name: rec.definition.name.clone(),
        confirm,
        recipients: l.recipients,
        did: did.as_str(),
        dids: report::Did::ALL
            .into_iter()
            .map(|d| (d.as_str(), t.get(&format!("campaigns.did_{}", d.as_str()))))
            .collect(),
    };
    (extras.status.unwrap_or(StatusCode::OK), render(&page)).into_response()
}

/// The campaign's latest messages whose recipients did `did`, with who they are.
fn recipient_rows(
    read: &crate::store::ReadTx,
    id: u64,
    rec: &CampaignRecord,
    did: report::Did,
    t: &'static Catalog,
    lang: Lang,
    tz: chrono_tz::Tz,
) -> Result<Vec<RecipientRow>, crate::store::Error> {
    let mut out = Vec::new();
    for r in report::recipients(read, id, rec, did, RECIPIENTS_SHOWN)? {
        let who = read
            .customer(r.customer)?
            .and_then(|c| c.name.or(c.email).or(c.user_id))
            .unwrap_or_else(|| format!("{} #{}", t.get("customers.anonymous"), r.customer));
        out.push(recipient_row(r, who, t, lang, tz));
    }
    Ok(out)
}

fn recipient_row(
    r: report::Recipient,
    who: String,
    t: &'static Catalog,
    lang: Lang,
    tz: chrono_tz::Tz,
) -> RecipientRow {
    use crate::campaign::send::SendState;
    let row = r.row;
    let state = match row.state {
        SendState::Queued => "queued",
        SendState::Held => "held",
        SendState::Sending => "sending",
        SendState::Sent => "sent",
        SendState::Failed => "failed",
        SendState::Skipped => "skipped",
    };
    let state_text = match (row.state, row.skip) {
        (SendState::Skipped, Some(skip)) => {
            format!("{}: {}", t.get("campaigns.state_skipped"), skip_label(t, skip.as_str()))
        }
        _ => t.get(&format!("campaigns.state_{state}")).to_string(),
    };
    let did = [
        (row.delivered_at, "campaigns.delivered"),
        (row.opened_at, "campaigns.opened"),
        (row.clicked_at, "campaigns.clicked"),
        (row.unsubscribed_at, "campaigns.unsubscribed"),
    ]
    .into_iter()
    .filter(|(at, _)| at.is_some())
    .map(|(_, key)| t.get(key))
    .collect();
    RecipientRow {
        customer: r.customer,
        who,
        channel: channel_label(t, row.channel),
        address: row.address.unwrap_or_else(|| "—".into()),
        state,
        state_text,
        when: i18n::datetime(row.sent_at.unwrap_or(row.queued_at), tz),
        did,
        converted: if r.conversions == 0 {
            String::new()
        } else if r.revenue > 0.0 {
            format!("{} · {}", count(r.conversions), i18n::money(r.revenue, None, lang))
        } else {
            count(r.conversions)
        },
    }
}

/// Every message of the campaign and what its recipient did, as CSV (UTF-8 with a byte order
/// mark, for Excel): customer, name, email, channel, address, state, skip reason, queued, sent,
/// delivered, opened, clicked, unsubscribed (shop time), conversions, revenue.
pub(super) async fn recipients_csv(State(st): State<AppState>, staff: Staff, Path(id): Path<u64>) -> Response {
    let tz = st.tz;
    let res = st
        .store
        .call(move |s| -> Result<_, crate::store::Error> {
            let read = s.read()?;
            let Some(rec) = read.campaign::<CampaignRecord>(id)? else {
                return Ok(None);
            };
            let time = |ms: Option<i64>| ms.map(|ms| i18n::datetime(ms, tz)).unwrap_or_default();
            let mut rows = vec![
                [
                    "customer_id",
                    "name",
                    "email",
                    "channel",
                    "address",
                    "state",
                    "skip",
                    "queued_at",
                    "sent_at",
                    "delivered_at",
                    "opened_at",
                    "clicked_at",
                    "unsubscribed_at",
                    "conversions",
                    "revenue",
                ]
                .map(str::to_string)
                .to_vec(),
            ];
            for r in report::recipients(&read, id, &rec, report::Did::Any, usize::MAX)? {
                let (name, email) = read
                    .customer(r.customer)?
                    .map(|c| (c.name, c.email))
                    .unwrap_or_default();
                let row = r.row;
                rows.push(vec![
                    r.customer.to_string(),
                    name.unwrap_or_default(),
                    email.unwrap_or_default(),
                    row.channel.as_str().to_string(),
                    row.address.unwrap_or_default(),
                    serde_json::to_value(row.state)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    row.skip.map(|s| s.as_str().to_string()).unwrap_or_default(),
                    time(Some(row.queued_at)),
                    time(row.sent_at),
                    time(row.delivered_at),
                    time(row.opened_at),
                    time(row.clicked_at),
                    time(row.unsubscribed_at),
                    r.conversions.to_string(),
                    r.revenue.to_string(),
                ]);
            }
            Ok(Some(rows))
        })
        .await;
    match res {
        Ok(Some(rows)) => super::super::csv_response(&format!("campaign-{id}-recipients.csv"), rows),
        Ok(None) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub(super) struct LaunchForm {
    #[serde(default)]
    csrf: String,
    /// Present once the page's "send to N people" was confirmed.
    #[serde(default)]
    confirmed: Option<String>,
}

/// Launches (or resumes) a campaign as `POST /api/v1/campaigns/{id}/launch` does: first what the
/// law and the channel need, then the schedule. A refusal shows on the page, named.
pub(super) async fn launch_submit(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(form): Form<LaunchForm>,
) -> Response {
    if let Some(r) = refuse_change(&staff, &form.csrf) {
        return r;
    }
    // The first press asks again, with the number of people it will reach; a launch the
    // settings would refuse is tried at once, so that the refusal is named.
    if form.confirmed.is_none() {
        let ready = st
            .store
            .call(move |s| -> Result<_, store::Error> {
                let read = s.read()?;
                Ok(match read.campaign::<CampaignRecord>(id)? {
                    Some(rec) => Settings::load(&read)?.ready_to_launch(&rec.definition).is_ok(),
                    None => false,
                })
            })
            .await;
        match ready {
            Ok(true) => {
                let extras = Extras {
                    confirm: true,
                    ..Extras::default()
                };
                return show_page(&st, &staff, id, None, extras).await;
            }
            Ok(false) => {}
            Err(e) => return failed(staff.lang, &e),
        }
    }
    let (now, tz) = (st.now_ms(), st.tz);
    let launched = st.store.write(move |tx| campaign::launch(tx, id, now, tz)).await;
    match launched {
        Ok(_) => {
            st.campaigns.wake();
            Redirect::to(&format!("/campaigns/{id}")).into_response()
        }
        Err(CampaignError::NotFound(_)) => not_found(&staff),
        Err(e @ (CampaignError::Field { .. } | CampaignError::Conflict(_))) => {
            let extras = Extras {
                notice: Some(Notice {
                    ok: false,
                    id: "launch-error",
                    text: format!("{} {}", staff.t.get("campaigns.launch_refused"), refusal(staff.t, &e)),
                }),
                status: Some(StatusCode::BAD_REQUEST),
                ..Extras::default()
            };
            show_page(&st, &staff, id, None, extras).await
        }
        Err(e) => failed(staff.lang, &e),
    }
}

/// Pauses a campaign as `POST /api/v1/campaigns/{id}/pause` does.
pub(super) async fn pause_submit(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(r) = refuse_change(&staff, &form.csrf) {
        return r;
    }
    let now = st.now_ms();
    match st.store.write(move |tx| campaign::pause(tx, id, now)).await {
        Ok(_) => Redirect::to(&format!("/campaigns/{id}")).into_response(),
        Err(CampaignError::NotFound(_)) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}

#[derive(Deserialize)]
pub(super) struct TestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
    /// Whose data fills the message: a customer id, user id or email.
    #[serde(default)]
    customer: String,
}

/// Sends the message for one customer to an address or phone number, marked as a test, as
/// `POST /api/v1/campaigns/{id}/test` does; the page says what the channel answered.
pub(super) async fn test_submit(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(form): Form<TestForm>,
) -> Response {
    if let Some(r) = refuse_change(&staff, &form.csrf) {
        return r;
    }
    let t = staff.t;
    let rec = match load(&st, id).await {
        Ok(Some(rec)) => rec,
        Ok(None) => return not_found(&staff),
        Err(e) => return failed(staff.lang, &e),
    };
    let q = form.customer.clone();
    let customer = match st.store.call(move |s| find_customer(&s.read()?, &q)).await {
        Ok(c) => c,
        Err(e) => return failed(staff.lang, &e),
    };
    let result = match customer {
        None => Err(format!(
            "customer_id: {}",
            t.get("campaigns.no_customer").replace("{q}", form.customer.trim())
        )),
        Some(cid) => st
            .campaigns
            .test_send(id, &rec, cid, form.to.trim())
            .await
            .map_err(|e| e.to_string()),
    };
    let (ok, text) = match result {
        Ok(answer) => (
            true,
            t.get("campaigns.test_sent")
                .replace("{to}", form.to.trim())
                .replace("{answer}", &answer),
        ),
        Err(e) => (false, format!("{} {e}", t.get("campaigns.test_failed"))),
    };
    let extras = Extras {
        notice: Some(Notice {
            ok,
            id: "test-result",
            text,
        }),
        test_to: form.to.clone(),
        status: Some(if ok { StatusCode::OK } else { StatusCode::BAD_REQUEST }),
        confirm: false,
        did: None,
    };
    let preview = Some(form.customer).filter(|c| !c.trim().is_empty());
    show_page(&st, &staff, id, preview, extras).await
}

/// The customer a preview is asked for (an id, email, phone or user id) and who they are in a
/// line; None when no one is found.
pub(super) fn preview_customer(
    read: &crate::store::ReadTx,
    q: &str,
) -> Result<Option<(u64, String)>, crate::customer::Error> {
    let Some(cid) = find_customer(read, q)? else {
        return Ok(None);
    };
    let (_, c) = crate::customer::get(read, cid)?;
    let who = [c.name, c.email, c.user_id]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    Ok(Some((cid, who)))
}

/// What the law and the settings would do with a previewed message, in words.
pub(super) fn verdict_words(t: &Catalog, p: &crate::campaign::send::Preview) -> String {
    match (p.verdict.as_str(), p.detail.as_deref()) {
        ("send", _) => t.get("campaigns.verdict_send").to_string(),
        ("hold_until", Some(until)) => t.get("campaigns.verdict_hold").replace("{until}", &local_time(until)),
        ("skip", Some(reason)) => t
            .get("campaigns.verdict_skip")
            .replace("{reason}", &skip_label(t, reason)),
        (v, d) => format!("{v} {}", d.unwrap_or("")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_draws_sent_and_conversions_per_day() {
        let t = Catalog::for_lang(Lang::En);
        let day = |day: &str, sent, conversions| DayReport {
            day: day.into(),
            counts: crate::campaign::send::DayCounts {
                sent,
                ..Default::default()
            },
            conversions,
            revenue: 0.0,
        };
        let c = chart(&[day("2026-11-23", 4, 0), day("2026-11-24", 2, 1)], t).unwrap();
        assert_eq!((c.bars[0].a_h.as_str(), c.bars[1].b_h.as_str()), ("160.0", "40.0"));
        assert!(c.bars[1].title.contains("Sent 2"), "{}", c.bars[1].title);
        assert!(chart(&[], t).is_none());
    }
}
