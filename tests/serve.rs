//! The web UI's handlers, without a socket: requests go through the router with
//! `tower::ServiceExt::oneshot`, over one workspace per test binary (the sample organisation
//! plus two hostile files, mapped by the real binary). Tests that decide use different
//! controls, so they can run at once.

mod common;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
};

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Request, StatusCode, header},
};
use common::{controlmap, copy_dir, ok, repo};
use controlmap::{
    review::{Store, Verdict, suggestions::ReviewWorkspace},
    serve::{self, Access, AppState, Config},
};
use tower::ServiceExt;

const HOSTILE: &str = "<script>alert(1)</script>";
const REVIEWER: &str = "web-tester";

/// The sample organisation with a hostile text file and a hostile Markdown file, mapped once.
fn workspace() -> &'static Path {
    static WS: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &WS.get_or_init(|| {
        let t = tempfile::tempdir().unwrap();
        let corpus = t.path().join("policies");
        copy_dir(&repo().join("corpora/sample-org"), &corpus);
        fs_err::write(
            corpus.join("hostile.txt"),
            format!(
                "ACCESS REVIEW NOTE\n\nAccess to AI training data is reviewed every quarter by \
                 the data owner. {HOSTILE} <img src=x onerror=alert(2)> Findings go to the AI \
                 Governance Committee.\n"
            ),
        )
        .unwrap();
        fs_err::write(
            corpus.join("hostile.md"),
            format!(
                "# Hostile `{HOSTILE}` heading\n\nModel monitoring alerts page the on-call \
                 engineer; see `{HOSTILE}` and \"quotes\" & ampersands.\n"
            ),
        )
        .unwrap();
        let ws = t.path().join("ws");
        // Judged on a fixed day, so which documents are overdue does not move with the
        // calendar.
        ok(controlmap()
            .args(["run", "-q", "--as-of", "2025-06-30", "--workspace"])
            .arg(&ws)
            .arg(&corpus));
        (t, ws)
    })
    .1
}

fn config(access: Access, read_only: bool) -> Config {
    Config {
        workspace: workspace().to_path_buf(),
        bind: serve::DEFAULT_BIND.parse().unwrap(),
        access,
        read_only,
        reviewer: REVIEWER.to_string(),
        model: None,
        device: "cpu".parse().unwrap(),
        precision: None,
        limits: serve::Limits::default(),
    }
}

fn app_with(access: Access, read_only: bool) -> Router {
    serve::router(AppState::new(config(access, read_only)).unwrap())
}

fn app() -> Router {
    app_with(Access::Open, false)
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

fn send(app: &Router, req: Request<Body>) -> Reply {
    runtime().block_on(send_async(app.clone(), req))
}

async fn send_async(app: Router, req: Request<Body>) -> Reply {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, "127.0.0.1:8642")
        .body(Body::empty())
        .unwrap()
}

fn post(path: &str, form: &[(&str, &str)]) -> Request<Body> {
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    Request::post(path)
        .header(header::HOST, "127.0.0.1:8642")
        .header(header::ORIGIN, "http://127.0.0.1:8642")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The CSRF token a page embeds in its forms.
fn csrf_of(app: &Router) -> String {
    let page = send(app, get("/control/A.2.2")).body;
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// The suggestions the last run made for `control` (content hashes), most confident first.
fn suggestions(control: &str) -> Vec<String> {
    let ws = ReviewWorkspace::load(workspace()).unwrap();
    let mut s: Vec<_> = ws
        .suggestions
        .iter()
        .filter(|s| s.control == control)
        .collect();
    s.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    s.iter().map(|s| s.content_hash.clone()).collect()
}

fn current_verdict(hash: &str, control: &str) -> Option<(Verdict, String)> {
    let store = Store::open_if_exists(workspace()).unwrap()?;
    store
        .current_decisions()
        .unwrap()
        .get(&(hash.to_string(), control.to_string()))
        .map(|d| (d.verdict, d.reviewer.clone()))
}

fn report() -> serde_json::Value {
    serde_json::from_str(&fs_err::read_to_string(workspace().join("report.json")).unwrap()).unwrap()
}

#[test]
fn coverage_lists_every_control_with_its_status_and_filters_gaps() {
    let app = app();
    let r = send(&app, get("/"));
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_SECURITY_POLICY], serve::CSP);
    assert_eq!(r.headers[header::X_FRAME_OPTIONS], "DENY");
    let report = report();
    let controls = common::controls(&report);
    assert_eq!(controls.len(), 38);
    assert_eq!(r.body.matches("class=\"cell ").count(), 38);
    // Other tests decide on these controls meanwhile, which may change their colour.
    let decided_elsewhere = ["A.3.2", "A.4.3", "A.5.2", "A.6.2.4"];
    for c in &controls {
        let id = c["id"].as_str().unwrap();
        if decided_elsewhere.contains(&id) {
            assert!(r.body.contains(&format!("href=\"/control/{id}\"")));
            continue;
        }
        let key = match c["coverage"].as_str().unwrap() {
            "not_applicable" => "na",
            other => other,
        };
        let cell = format!("class=\"cell {key}\" href=\"/control/{id}\"");
        assert!(r.body.contains(&cell), "no {cell}");
    }
    let gaps = controls.iter().filter(|c| c["coverage"] == "gap").count();
    assert!(gaps > 0, "the sample organisation has gaps");
    let g = send(&app, get("/?show=gaps"));
    assert_eq!(g.body.matches("class=\"cell gap\"").count(), gaps);
    assert_eq!(g.body.matches("class=\"cell ").count(), gaps);
    let p = send(&app, get("/?show=pending"));
    assert!(p.body.contains("to review"));
}

#[test]
fn control_page_shows_description_and_evidence_with_actions() {
    let app = app();
    let r = send(&app, get("/control/A.3.2"));
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("AI roles and responsibilities"));
    let report = report();
    let c = common::controls(&report)
        .into_iter()
        .find(|c| c["id"] == "A.3.2")
        .unwrap();
    let first = &c["evidence"][0];
    assert!(r.body.contains(first["document"].as_str().unwrap()));
    assert!(r.body.contains(&format!(
        "id=\"i-{}\"",
        first["content_hash"].as_str().unwrap()
    )));
    // The passage, with the control's keywords marked.
    assert!(r.body.contains("<mark>"), "keywords are marked");
    assert!(r.body.contains("value=\"accept\"") && r.body.contains("value=\"reject\""));
    assert!(r.body.contains("action=\"/na\""));
    assert_eq!(
        send(&app, get("/control/A.99.9")).status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn accept_needs_the_csrf_token_and_a_same_origin_and_lands_in_sqlite() {
    let app = app();
    let hash = suggestions("A.3.2").remove(0);
    let req = |csrf: Option<&str>| {
        let mut f = vec![
            ("hash", hash.as_str()),
            ("control", "A.3.2"),
            ("verdict", "accept"),
            ("comment", "signed by the board"),
            ("back", "/control/A.3.2"),
        ];
        if let Some(c) = csrf {
            f.push(("csrf", c));
        }
        post("/decide", &f)
    };

    let r = send(&app, req(None));
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");
    let r = send(&app, req(Some("0123456789abcdef0123456789abcdef")));
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a wrong CSRF token");
    assert!(r.body.contains("CSRF"));
    let csrf = csrf_of(&app);
    let mut cross = req(Some(&csrf));
    cross
        .headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    assert_eq!(
        send(&app, cross).status,
        StatusCode::FORBIDDEN,
        "another origin"
    );
    assert_eq!(current_verdict(&hash, "A.3.2"), None, "nothing written yet");

    let r = send(&app, req(Some(&csrf)));
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.headers[header::LOCATION], "/control/A.3.2");
    assert_eq!(
        current_verdict(&hash, "A.3.2"),
        Some((Verdict::Accepted, REVIEWER.to_string()))
    );
    let store = Store::open(workspace()).unwrap();
    let d = store.latest(&hash, "A.3.2").unwrap().unwrap();
    assert_eq!(d.comment.as_deref(), Some("signed by the board"));
    assert!(d.run_id.is_some() && d.confidence.is_some());
    // Coverage follows: the control is covered now.
    let page = send(&app, get("/"));
    assert!(
        page.body
            .contains("class=\"cell covered\" href=\"/control/A.3.2\"")
    );
}

#[test]
fn read_only_shows_no_actions_and_refuses_posts() {
    let app = app_with(Access::Open, true);
    let r = send(&app, get("/control/A.4.2"));
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body.contains("<form class=\"act"), "no action forms");
    assert!(r.body.contains("read-only"));
    let hash = suggestions("A.4.2").remove(0);
    // Even with the CSRF token of a writable server's page (read-only pages have none).
    let csrf = csrf_of(&app_with(Access::Open, false));
    let r = send(
        &app,
        post(
            "/decide",
            &[
                ("csrf", &csrf),
                ("hash", &hash),
                ("control", "A.4.2"),
                ("verdict", "accept"),
            ],
        ),
    );
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(current_verdict(&hash, "A.4.2"), None);
    let r = send(
        &app,
        post("/na", &[("control", "A.4.2"), ("justification", "x")]),
    );
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[test]
fn a_non_loopback_address_needs_a_token() {
    let any: SocketAddr = "0.0.0.0:8642".parse().unwrap();
    let c = Config {
        bind: any,
        ..config(Access::Open, false)
    };
    let e = c.check().unwrap_err().to_string();
    assert!(e.contains("0.0.0.0:8642") && e.contains("--token"), "{e}");
    let c = Config {
        bind: any,
        ..config(
            Access::Tokens(vec![("alice".into(), "a".repeat(20))]),
            false,
        )
    };
    c.check().unwrap();

    // And the binary refuses to start, with that message.
    let out = controlmap()
        .args(["serve", "--bind", "0.0.0.0:0", "--workspace"])
        .arg(workspace())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("--tokens-file"),
        "{err}"
    );
}

#[test]
fn open_access_answers_only_to_loopback_host_names() {
    let app = app();
    let rebound = Request::get("/")
        .header(header::HOST, "attacker.example:8642")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, rebound).status, StatusCode::MISDIRECTED_REQUEST);
    let local = Request::get("/")
        .header(header::HOST, "localhost:8642")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, local).status, StatusCode::OK);
}

#[test]
fn tokens_name_the_reviewer_on_each_decision() {
    // As `openssl rand -hex 32` and `openssl rand -base64 33` make them.
    let (alice, bob) = (
        "651eadbea106bd248a972b9028dc904bb072064b69c0bae7915e6b681f3834f5",
        "8GDA4r6JeocPifcQUKulbO5D6/C7hIA8yvUXfkxkSFHl",
    );
    let tokens_file = tempfile::NamedTempFile::new().unwrap();
    fs_err::write(
        tokens_file.path(),
        format!("# reviewers\nalice:{alice}\nbob:{bob}\n"),
    )
    .unwrap();
    let tokens = serve::load_tokens(tokens_file.path()).unwrap();
    let app = app_with(Access::Tokens(tokens), false);

    assert_eq!(send(&app, get("/")).status, StatusCode::UNAUTHORIZED);
    let mut wrong = get("/");
    wrong.headers_mut().insert(
        header::AUTHORIZATION,
        "Bearer not-a-token-at-all".parse().unwrap(),
    );
    assert_eq!(send(&app, wrong).status, StatusCode::UNAUTHORIZED);

    // Login sets an HttpOnly, SameSite=Strict cookie that then lets pages through.
    let r = send(&app, get(&format!("/login?token={bob}&next=/review")));
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/review");
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let mut with_cookie = get("/control/A.6.2.4");
    with_cookie.headers_mut().insert(
        header::COOKIE,
        cookie.split(';').next().unwrap().parse().unwrap(),
    );
    let page = send(&app, with_cookie);
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("reviewer <b>bob</b>"));

    // Alice's bearer token: her CSRF token, and her name on the decision.
    let bearer = |mut r: Request<Body>| {
        r.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Bearer {alice}").parse().unwrap(),
        );
        r
    };
    let page = send(&app, bearer(get("/control/A.6.2.4"))).body;
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = &page[at..at + 32];
    let hash = suggestions("A.6.2.4").remove(0);
    let r = send(
        &app,
        bearer(post(
            "/decide",
            &[
                ("csrf", csrf),
                ("hash", &hash),
                ("control", "A.6.2.4"),
                ("verdict", "reject"),
            ],
        )),
    );
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        current_verdict(&hash, "A.6.2.4"),
        Some((Verdict::Rejected, "alice".to_string()))
    );
}

#[test]
fn a_hostile_passage_is_shown_as_text() {
    let app = app();
    for doc in ["hostile.txt", "hostile.md"] {
        let r = send(&app, get(&format!("/document?path={doc}")));
        assert_eq!(r.status, StatusCode::OK, "{doc}");
        assert!(
            r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{doc}: the script is shown as text"
        );
        assert!(!r.body.contains(HOSTILE), "{doc}: no live script tag");
        assert!(!r.body.contains("<img src=x"), "{doc}");
    }
    // No endpoint reads a file by name: a path that is not a document of the run is refused.
    for p in ["../report.json", "/etc/passwd", "decisions.db"] {
        let r = send(&app, get(&format!("/document?path={}", urlencode(p))));
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{p}");
        assert!(!r.body.contains("root:"), "{p}");
    }
    // Search results show it as text too.
    let r = send(&app, get("/search?q=alert+quarter+training+data"));
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("hostile.txt"), "found by search");
    assert!(!r.body.contains(HOSTILE) && !r.body.contains("<img src=x"));
    assert!(r.body.contains("&lt;"));
}

#[test]
fn search_ranks_as_the_command_line_does() {
    let app = app();
    let r = send(&app, get("/search?q=model+drift&limit=5"));
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("<mark>"), "query words are marked");
    let cli = common::search_json(workspace(), &["model drift", "--limit", "5"]);
    assert_eq!(cli.len(), 5);
    let mut at = 0;
    for res in &cli {
        let href = format!("#p-{}\"", res["passage_id"]);
        let found = r.body[at..]
            .find(&href)
            .unwrap_or_else(|| panic!("{href} in order"));
        at += found + href.len();
    }
    let by_control = send(&app, get("/search?control=A.6.2.6"));
    assert_eq!(by_control.status, StatusCode::OK);
    assert!(by_control.body.contains("for evidence of"));
}

#[test]
fn document_page_lists_passages_in_order_with_pages_and_mappings() {
    let app = app();
    let m: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(workspace().join("documents.json")).unwrap())
            .unwrap();
    // A PDF the mapper suggested a passage of.
    let report = report();
    let pdf = common::controls(&report)
        .into_iter()
        .flat_map(|c| c["evidence"].as_array().unwrap())
        .map(|e| e["document"].as_str().unwrap().to_string())
        .find(|d| d.ends_with(".pdf"))
        .expect("a suggested PDF passage in the sample");
    let (path, doc) = (&pdf, &m["documents"][&pdf]);
    let r = send(&app, get(&format!("/document?path={}", urlencode(path))));
    assert_eq!(r.status, StatusCode::OK);
    let passages = doc["passages"].as_array().unwrap();
    assert_eq!(
        r.body.matches("class=\"passage-block\"").count(),
        passages.len()
    );
    assert!(r.body.contains("page 1"));
    assert!(
        r.body.contains("<ul class=\"mappings\">"),
        "mapped passages list their controls"
    );
    let list = send(&app, get("/documents"));
    assert!(
        list.body
            .contains(&format!("/document?path={}", path.replace(' ', "%20")))
    );
    // The documents that never mention AI are marked, and only they.
    assert_eq!(
        list.body.matches("out of scope</span>").count(),
        6,
        "{}",
        list.body
    );
    let brand = send(&app, get("/document?path=general/brand-guidelines.md"));
    assert!(brand.body.contains("Out of scope: "), "{}", brand.body);
    assert!(!r.body.contains("Out of scope: "));
}

#[test]
fn the_documents_page_shows_review_dates_and_filters_to_overdue_documents() {
    let app = app();
    let all = send(&app, get("/documents"));
    assert_eq!(all.status, StatusCode::OK);
    // On 2025-06-30 the AI policy is current (reviewed 2025-02-25) and the roles document's
    // next review (2025-04-30) has passed.
    let policy = "/document?path=governance/ai-policy.md";
    let roles = "/document?path=governance/ai-roles-and-responsibilities.html";
    assert!(all.body.contains(policy) && all.body.contains(roles));
    assert!(all.body.contains("Chief Risk Officer") && all.body.contains("2025-02-25"));
    assert!(all.body.contains("As of 2025-06-30"), "{}", all.body);
    let overdue = send(&app, get("/documents?status=overdue"));
    assert_eq!(overdue.status, StatusCode::OK);
    assert!(overdue.body.contains(roles), "{}", overdue.body);
    assert!(!overdue.body.contains(policy), "{}", overdue.body);
    let rows = |body: &str| body.matches("<tr class=").count();
    assert!(rows(&overdue.body) < rows(&all.body));
    assert_eq!(
        overdue.body.matches("<tr class=\"overdue\"").count(),
        rows(&overdue.body)
    );
}

#[test]
fn downloads_are_the_four_exports_and_nothing_else() {
    let app = app();
    for (name, marker) in [
        ("report.json", "\"objectives\""),
        ("evidence.csv", "control"),
        ("soa.csv", "control"),
        ("report.html", "<html"),
    ] {
        let r = send(&app, get(&format!("/download/{name}")));
        assert_eq!(r.status, StatusCode::OK, "{name}");
        assert!(
            r.headers[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .contains(name)
        );
        assert!(r.body.contains(marker), "{name}");
    }
    for bad in [
        "decisions.db",
        "documents.json",
        "..%2Freport.json",
        "vectors.bin",
    ] {
        assert_eq!(
            send(&app, get(&format!("/download/{bad}"))).status,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
}

#[test]
fn two_concurrent_accepts_both_land() {
    let app = app();
    let csrf = csrf_of(&app);
    let hashes = suggestions("A.4.3");
    assert!(hashes.len() >= 2);
    let req = |hash: &str| {
        post(
            "/decide",
            &[
                ("csrf", &csrf),
                ("hash", hash),
                ("control", "A.4.3"),
                ("verdict", "accept"),
            ],
        )
    };
    let (a, b) = runtime().block_on(async {
        tokio::join!(
            tokio::spawn(send_async(app.clone(), req(&hashes[0]))),
            tokio::spawn(send_async(app.clone(), req(&hashes[1]))),
        )
    });
    assert_eq!(a.unwrap().status, StatusCode::SEE_OTHER);
    assert_eq!(b.unwrap().status, StatusCode::SEE_OTHER);
    for h in &hashes[..2] {
        assert_eq!(
            current_verdict(h, "A.4.3").map(|v| v.0),
            Some(Verdict::Accepted)
        );
    }
}

#[test]
fn the_review_queue_decides_in_order_and_undoes() {
    let state = AppState::new(config(Access::Open, false)).unwrap();
    let app = serve::router(Arc::clone(&state));
    let csrf = csrf_of(&app);
    let order = || {
        let ws = ReviewWorkspace::load(workspace()).unwrap();
        let store = Store::open(workspace()).unwrap();
        controlmap::review::order::ordered_items(&ws, &store).unwrap()
    };
    let page = send(&app, get("/review")).body;
    assert!(page.contains("data-key=\"a\"") && page.contains("data-key=\"s\""));
    // The page shows the terminal queue's first item that this test may decide: skip to the
    // first item of A.5.2 (other tests decide other controls at the same time).
    let items = order();
    let at = items.iter().position(|i| i.control == "A.5.2").unwrap();
    let page = send(&app, get(&format!("/review?skip={at}"))).body;
    let item = &items[at];
    assert!(page.contains(&format!("name=\"hash\" value=\"{}\"", item.content_hash)));
    let r = send(
        &app,
        post(
            "/decide",
            &[
                ("csrf", &csrf),
                ("hash", &item.content_hash),
                ("control", "A.5.2"),
                ("verdict", "reject"),
                ("back", &format!("/review?skip={at}")),
            ],
        ),
    );
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        current_verdict(&item.content_hash, "A.5.2").map(|v| v.0),
        Some(Verdict::Rejected)
    );
    let r = send(&app, post("/undo", &[("csrf", &csrf), ("back", "/review")]));
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        current_verdict(&item.content_hash, "A.5.2"),
        None,
        "pending again"
    );
    let r = send(&app, post("/undo", &[("csrf", &csrf)]));
    assert_eq!(r.status, StatusCode::CONFLICT, "nothing left to undo");
}

#[test]
fn request_bodies_are_bounded() {
    let app = app();
    let csrf = csrf_of(&app);
    let big = "x".repeat(serve::BODY_LIMIT + 1);
    let r = send(
        &app,
        post(
            "/decide",
            &[
                ("csrf", &csrf),
                ("hash", "00"),
                ("control", "A.2.2"),
                ("verdict", "accept"),
                ("comment", &big),
            ],
        ),
    );
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[test]
fn a_taken_port_is_named_with_advice() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let out = controlmap()
        .args(["serve", "--bind", &addr.to_string(), "--workspace"])
        .arg(workspace())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("port {}", addr.port()))
            && err.contains("already in use")
            && err.contains("127.0.0.1:0"),
        "{err}"
    );
}
