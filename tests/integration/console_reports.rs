//! Reports in the console: the pages lay out the figures of a known event stream (the one the API
//! test checks figure by figure), the range and filters change them, every table downloads as
//! CSV, and a wrong control is named on the page.

use reqwest::Method;
use serde_json::json;

use crate::common::{TestApp, console_cookie, element, page, page_and_location};
use crate::console_campaigns::add_user;
use crate::reports::known_stream;

/// The page's text: tags dropped, whitespace collapsed.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A server whose clock stands a week after the known stream's day, with the stream written.
pub(crate) async fn shop_a_week_later() -> TestApp {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = dangol::config::Config::for_tests(tmp.path());
    config.now = Some(chrono::DateTime::parse_from_rfc3339("2026-11-17T14:30:00+09:00").unwrap());
    let mut app = TestApp::spawn_with(config).await;
    app.keep(tmp);
    known_stream(&app).await;
    app
}

async fn csv(app: &TestApp, cookie: &str, path: &str) -> (u16, String, String) {
    let res = app
        .client
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let disposition = res
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, disposition, res.text().await.unwrap())
}

#[tokio::test]
async fn report_pages_show_the_figures_and_the_range_and_filters_change_them() {
    let app = shop_a_week_later().await;
    let (status, location, _) = page_and_location(&app, "", "/reports").await;
    assert_eq!((status, location.as_str()), (303, "/login?next=/reports"));
    let owner = console_cookie(&app, "admin", "test-admin-password").await;

    // The 10th alone, the 9th before it.
    let day = "range=custom&from=2026-11-10&to=2026-11-10";
    let (status, html) = page(&app, &owner, &format!("/reports?{day}")).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(text(&element(&html, "figure-visitors")), "Visitors 5 +400.0% before 1");
    assert_eq!(
        text(&element(&html, "figure-bounce_rate")),
        "Bounce rate 33.3% −66.7%p before 100.0%"
    );
    assert_eq!(text(&element(&html, "figure-revenue")), "Revenue ₩40,000 — before ₩0");
    assert!(
        element(&html, "figure-visitors").contains("A person after stitching"),
        "the §8 definition is the figure's tip"
    );
    assert_eq!(
        text(&element(&html, "bots")),
        "1 bot visits left out of the reports (kept in the log)."
    );
    for chart in ["chart-visitors", "chart-revenue"] {
        let svg = element(&html, chart);
        assert!(svg.contains("<svg") && svg.contains("<title>"), "{chart}: {svg}");
    }
    assert!(element(&html, "chart-visitors").contains("2026-11-10: This period 5 · Previous period 1"));
    let sources = element(&html, "panel-sources");
    assert!(
        sources.contains(r#"<a href="/reports?range=custom&from=2026-11-10&to=2026-11-10&source=Naver""#),
        "a source's value filters the report by it: {sources}"
    );
    assert!(text(&sources).contains("Naver 2 0 ₩0"), "{sources}");
    assert!(text(&sources).contains("KakaoTalk 1 1 ₩40,000"), "{sources}");
    assert!(
        text(&element(&html, "panel-products")).contains("P1 2 1 1 50.0%"),
        "{html}"
    );

    // A filter and a wider range change the figures.
    let (_, naver) = page(&app, &owner, &format!("/reports?{day}&source=Naver")).await;
    assert!(text(&element(&naver, "figure-visitors")).starts_with("Visitors 2 "));
    assert!(text(&element(&naver, "chips")).contains("Source: Naver"));
    assert!(
        !naver.contains("id=\"panel-products\""),
        "products are the whole shop's: not shown under a filter"
    );
    let (_, two) = page(&app, &owner, "/reports?range=custom&from=2026-11-09&to=2026-11-10").await;
    assert!(text(&element(&two, "figure-visitors")).starts_with("Visitors 6 "));
    let (_, week) = page(&app, &owner, "/reports?range=7d").await;
    assert!(
        text(&element(&week, "figure-visits")).starts_with("Visits 0 "),
        "the 11th to the 17th hold no visit"
    );
    let (_, month) = page(&app, &owner, "/reports").await;
    assert!(
        text(&element(&month, "figure-visitors")).starts_with("Visitors 7 "),
        "30 days by default: the 9th's and 10th's, and g's order on October 20th: {}",
        text(&element(&month, "figure-visitors"))
    );

    // A breakdown's full table, and the exit rate.
    let (status, exits) = page(&app, &owner, &format!("/reports/breakdown?by=exit_page&{day}")).await;
    assert_eq!(status, 200);
    let table = text(&element(&exits, "breakdown"));
    assert!(table.contains("Exit rate"), "{table}");
    assert!(table.contains("/products/P1 2 3 4 33.3% 1 ₩40,000 100.0%"), "{table}");

    // The funnel and cohorts.
    let (status, funnel) = page(&app, &owner, &format!("/reports/funnel?{day}")).await;
    assert_eq!(status, 200);
    assert!(text(&element(&funnel, "step-row-1")).starts_with("1. Product viewed 4 "));
    assert!(text(&element(&funnel, "step-row-1")).contains("Dropped 2"));
    assert!(text(&element(&funnel, "step-row-4")).starts_with("4. Order completed 1 "));
    let (_, custom) = page(
        &app,
        &owner,
        &format!("/reports/funnel?{day}&step=Product+Added&step=Order+Completed"),
    )
    .await;
    assert!(
        text(&element(&custom, "step-row-1")).starts_with("1. Added to cart 2 "),
        "m and c; b carted on the 11th"
    );
    assert!(!custom.contains("id=\"step-row-3\""));
    let (status, cohorts) = page(&app, &owner, "/reports/cohorts?from=2026-10&to=2026-11").await;
    assert_eq!(status, 200);
    assert!(text(&element(&cohorts, "cohorts")).contains("2026-10 2 0.0% 2026-11 1"));

    // Live: today so far against the same time last week.
    let (status, live) = page(&app, &owner, "/reports/live").await;
    assert_eq!(status, 200);
    assert_eq!(text(&element(&live, "figure-visits")), "Visits 0 −100.0% before 3");

    // The dashboard starts with the last 30 days' charts.
    let (_, dash) = page(&app, &owner, "/").await;
    assert!(dash.contains("id=\"dashboard-reports\"") && dash.contains("id=\"chart-visitors\""));
    assert!(
        text(&element(&dash, "figure-orders")).starts_with("Orders 2 "),
        "O1 and g's G1 of October 20th"
    );

    // Its latest events say who, by name, email or member id, newest first by their own time
    // (f1's December order, sent last but one, is the newest).
    let latest = text(&element(&dash, "latest"));
    assert!(latest.starts_with("2026-12-01 12:00 Order completed F2"), "{latest}");
    assert!(latest.contains("f1") && latest.contains("u1@example.com"), "{latest}");
    assert!(
        latest.contains("Page view / Guest #"),
        "a visitor with no name is a guest: {latest}"
    );

    // A viewer reads reports too.
    let viewer = add_user(&app, "viewer1", "viewer").await;
    let (status, _) = page(&app, &viewer, "/reports/funnel").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn every_report_table_downloads_as_csv() {
    let app = shop_a_week_later().await;
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let day = "range=custom&from=2026-11-10&to=2026-11-10";
    let bom = "\u{feff}";

    let (status, disposition, body) = csv(&app, &owner, &format!("/reports/breakdown.csv?by=source&{day}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        disposition,
        "attachment; filename=\"dangol-source-2026-11-10-2026-11-10.csv\""
    );
    assert_eq!(
        body,
        format!(
            "{bom}source,visitors,visits,pageviews,bounce_rate,orders,revenue\n\
             Naver,2,2,3,0.5,0,0\n\
             instagram,1,1,2,0,0,0\n\
             Direct,1,1,1,1,0,0\n\
             Google,1,1,1,0,0,0\n\
             KakaoTalk,1,1,1,0,1,40000\n"
        )
    );
    let (_, _, series) = csv(&app, &owner, &format!("/reports/series.csv?{day}")).await;
    assert_eq!(
        series,
        format!(
            "{bom}date,visitors,visits,pageviews,bounce_rate,visit_duration_s,pages_per_visit,orders,revenue,conversion_rate\n\
             2026-11-10,5,6,8,0.3333,705,1.3333,1,40000,0.2\n"
        )
    );
    let (_, _, products) = csv(&app, &owner, &format!("/reports/products.csv?{day}")).await;
    assert!(
        products.starts_with(&format!(
            "{bom}product_id,name,views,carts,checkouts,purchases,purchase_rate\nP1,P1,2,1,0,1,0.5\n"
        )),
        "{products}"
    );
    let (_, _, funnel) = csv(&app, &owner, &format!("/reports/funnel.csv?{day}")).await;
    assert_eq!(
        funnel.lines().take(3).collect::<Vec<_>>(),
        [
            "\u{feff}step,event,visitors,from_previous,from_first,left_with",
            "1,Product Viewed,4,1,1,P1 (1); P3 (1)",
            "2,Product Added,2,0.5,0.5,P2 (1)"
        ]
    );
    let (_, disposition, cohorts) = csv(&app, &owner, "/reports/cohorts.csv?from=2026-10&to=2026-11").await;
    assert_eq!(
        disposition,
        "attachment; filename=\"dangol-cohorts-2026-10-2026-11.csv\""
    );
    assert_eq!(
        cohorts.lines().skip(1).collect::<Vec<_>>(),
        ["2026-10,2,0", "2026-11,1,"],
        "months run to this month (the clock's November); a young cohort's row padded"
    );

    // A text cell a spreadsheet would run is quoted.
    let res = app
        .send(
            "/v1/page",
            json!({"anonymousId": "x", "timestamp": "2026-11-10T18:00:00+09:00",
                   "properties": {"path": "/", "url": "https://shop.example/?utm_source=%3DHYPERLINK(1)"}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let (_, _, utm) = csv(&app, &owner, &format!("/reports/breakdown.csv?by=source&{day}")).await;
    assert!(utm.contains("\n'=HYPERLINK(1),1,1,1,1,0,0\n"), "{utm}");

    // Not signed in: no file.
    let (status, location, _) = page_and_location(&app, "", &format!("/reports/breakdown.csv?by=source&{day}")).await;
    assert_eq!(status, 303);
    assert!(location.starts_with("/login"));
}

#[tokio::test]
async fn a_wrong_control_is_named_on_the_page() {
    let app = shop_a_week_later().await;
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let cases = [
        ("/reports?range=forever", "`range` is one of"),
        (
            "/reports?range=custom&from=2026-11-10&to=2026-11-01",
            "`from` (2026-11-10) is after `to` (2026-11-01)",
        ),
        (
            "/reports?range=custom&from=2020-01-01&to=2026-11-01",
            "a report spans at most 1096 days",
        ),
        ("/reports?device=fridge", "`device` is desktop, mobile or tablet"),
        ("/reports?segment_id=999", "no segment 999"),
        ("/reports/breakdown?by=colour", "`by` is one of"),
        (
            "/reports/funnel?step=Product+Viewed",
            "a funnel has 2 to 10 steps (got 1)",
        ),
        (
            "/reports/funnel?within_hours=soon",
            "`within_hours` must be a whole number",
        ),
        ("/reports/cohorts?from=2026-13", "`from` must be a month"),
    ];
    for (path, said) in cases {
        let (status, html) = page(&app, &owner, path).await;
        assert_eq!(status, 400, "{path}");
        let error = element(&html, "report-error");
        assert!(error.contains(said), "{path}: {error}");
        assert!(html.contains("id=\"tab-overview\""), "{path}: the controls stay");
    }
    let (status, _, body) = csv(&app, &owner, "/reports/breakdown.csv?by=colour").await;
    assert_eq!(status, 400);
    assert!(body.contains("`by` is one of"), "{body}");
    // The API's error for the same range names its field.
    let res = app
        .admin(Method::GET, "/reports/web?from=2026-11-10&to=2026-11-01")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
