//! Every member of a tenant without a scan: the members export walks the members index
//! over pages (complete, exactly the tenant's, a tier alone when asked, a forged cursor
//! refused), the ledger export walks the same index, and an import of opening balances
//! enrols members and credits them once per row.

use std::collections::BTreeSet;

use loyalty::actor::Role;

use super::console::{token, Admin, AdminCall};
use super::support::{Reply, TestEnv};

const HEADER: &str = "mobile,name,email,points,reference";

/// The CSV of `rows` opening balances, mobiles from `first`.
fn import_file(first: u64, rows: u64, points: i64, prefix: &str) -> String {
    let mut text = format!("{HEADER}\n");
    for i in 0..rows {
        text.push_str(&format!("{},\"Member {i}, imported\",,{points},{prefix}-{i}\n", first + i));
    }
    text
}

async fn import(env: &TestEnv, owner: &str, text: &str) -> Reply {
    let reply = AdminCall::new(Admin::MembersImport).token(owner).text(text).send(&env.deps).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply
}

/// Every page of a members export (of `tier` if given): the rows (header excluded) and
/// the number of pages.
async fn export_all(env: &TestEnv, owner: &str, tier: Option<&str>) -> (Vec<csv::StringRecord>, usize) {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut call = AdminCall::new(Admin::MembersExport).token(owner);
        if let Some(t) = tier {
            call = call.query("tier", t);
        }
        if let Some(c) = &cursor {
            call = call.query("cursor", c);
        }
        let page = call.send(&env.deps).await;
        assert_eq!(page.status, 200, "{}", page.text);
        pages += 1;
        let mut reader = csv::ReaderBuilder::new().has_headers(cursor.is_none()).from_reader(page.text.as_bytes());
        if cursor.is_none() {
            let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
            assert_eq!(
                header,
                ["customer_id", "name", "mobile", "email", "tier", "balance", "lifetime_points", "enrolled_at"]
            );
        }
        rows.extend(reader.records().map(|r| r.unwrap()));
        match page.headers.get("x-next-cursor").and_then(|v| v.to_str().ok()) {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 50, "the export never ends");
    }
    (rows, pages)
}

#[tokio::test]
async fn an_export_of_120_members_over_pages_is_complete_and_exactly_the_tenants() {
    let env = TestEnv::new().await;
    let a = env.tenant("acme-hotels").await;
    let b = env.tenant("bayview-inns").await;
    let owner = token(&env, a.slug(), Role::Owner);
    let imported = import(&env, &owner, &import_file(9_800_000_000, 120, 250, "open")).await;
    assert_eq!((imported.body["ok"].as_u64(), imported.body["error"].as_u64()), (Some(120), Some(0)));
    let b_member = env.seed_member(&b, "9800000001", "Not Acme's", "10").await;

    let (rows, pages) = export_all(&env, &owner, None).await;
    assert!(pages >= 2, "120 members take more than one page ({pages})");
    let ids: BTreeSet<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!((rows.len(), ids.len()), (120, 120), "each member once");
    let wanted: BTreeSet<&str> =
        imported.body["rows"].as_array().unwrap().iter().map(|r| r["customer_id"].as_str().unwrap()).collect();
    assert_eq!(ids, wanted, "exactly the tenant's members");
    assert!(!ids.contains(b_member.customer_id.as_str()));
    let first = rows.iter().find(|r| &r[2] == "+919800000000" || r[2].ends_with("9800000000")).unwrap();
    assert_eq!((&first[1], &first[4], &first[5], &first[6]), ("Member 0, imported", "Silver", "250", "0"));

    // B's export has B's one member.
    let (b_rows, _) = export_all(&env, &token(&env, b.slug(), Role::Owner), None).await;
    assert_eq!(b_rows.iter().map(|r| r[0].to_owned()).collect::<Vec<_>>(), vec![b_member.customer_id]);
}

#[tokio::test]
async fn a_tier_filter_lists_that_tiers_members_and_a_forged_cursor_is_400() {
    let env = TestEnv::new().await;
    let a = env.tenant("acme-hotels").await;
    let owner = token(&env, a.slug(), Role::Owner);
    let silver = env.seed_member(&a, "9811100001", "Sita", "100").await;
    // 200,000 lifetime points (a ₹2,000 bill) is Gold.
    let gold = env.seed_member(&a, "9811100002", "Gopal", "2500").await;
    let promoted = env.seed_member(&a, "9811100003", "Priya", "100").await;
    env.seed_member(&a, "9811100003", "Priya", "2500").await;

    let (gold_rows, _) = export_all(&env, &owner, Some("gold")).await;
    let golds: BTreeSet<String> = gold_rows.iter().map(|r| r[0].to_owned()).collect();
    assert_eq!(golds, BTreeSet::from([gold.customer_id.clone(), promoted.customer_id.clone()]), "a tier change moves");
    assert!(gold_rows.iter().all(|r| &r[4] == "Gold"));
    let (silver_rows, _) = export_all(&env, &owner, Some("Silver")).await;
    assert_eq!(silver_rows.iter().map(|r| r[0].to_owned()).collect::<Vec<_>>(), vec![silver.customer_id]);

    let unknown = AdminCall::new(Admin::MembersExport).token(&owner).query("tier", "Diamond").send(&env.deps).await;
    assert_eq!((unknown.status, unknown.body["error"]["field"].as_str()), (400, Some("tier")), "{}", unknown.text);
    let bad = |cursor: String| {
        let call = AdminCall::new(Admin::MembersExport).token(&owner).query("tier", "Gold").query("cursor", &cursor);
        let deps = env.deps.clone();
        async move {
            let reply = call.send(&deps).await;
            assert_eq!((reply.status, reply.body["error"]["field"].as_str()), (400, Some("cursor")), "{cursor}");
        }
    };
    bad("zz".into()).await;
    bad(hex::encode("16|")).await;
    bad(hex::encode(format!("00|Gold#{}", "not-a-customer"))).await;
    // A cursor of another tier's walk, or of a member in another shard.
    bad(hex::encode(format!("00|Silver#{}", gold.customer_id))).await;
    for shard in 0..16 {
        let forged = hex::encode(format!("{shard:02}|Gold#{}", gold.customer_id));
        let reply = AdminCall::new(Admin::MembersExport)
            .token(&owner)
            .query("tier", "Gold")
            .query("cursor", &forged)
            .send(&env.deps)
            .await;
        assert!(reply.status == 200 || reply.status == 400, "{}", reply.text);
    }
}

#[tokio::test]
async fn an_import_is_idempotent_per_row_names_bad_rows_and_balances_are_ledger_sums() {
    let env = TestEnv::new().await;
    let a = env.tenant("acme-hotels").await;
    let owner = token(&env, a.slug(), Role::Owner);
    let existing = env.seed_member(&a, "9822200001", "Asha", "10").await;
    let file = format!(
        "{HEADER}\n\
         9822200001,Asha,,500,legacy-1\n\
         9822200002,Ravi,ravi@example.com,1200,legacy-2\n\
         12,Nobody,,10,legacy-3\n\
         9822200004,Meera,,-5,legacy-4\n\
         9822200005,Kiran,,abc,legacy-5\n\
         9822200006,Anu,,70,legacy-2\n"
    );
    let first = import(&env, &owner, &file).await;
    let rows = first.body["rows"].as_array().unwrap();
    let status: Vec<&str> = rows.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["ok", "ok", "error", "error", "error", "duplicate"], "{}", first.text);
    assert_eq!(rows[5]["reason"], "reference repeated in this file (line 3)", "{}", first.text);
    assert_eq!(rows[0]["customer_id"], existing.customer_id.as_str());
    assert_eq!((rows[0]["enrolled"].as_bool(), rows[1]["enrolled"].as_bool()), (Some(false), Some(true)));
    assert_eq!(rows[0]["balance_after"].as_i64(), Some(existing.balance + 500));
    assert_eq!((rows[2]["line"].as_u64(), rows[2]["reference"].as_str()), (Some(4), Some("legacy-3")));
    assert!(rows[2]["reason"].as_str().unwrap().starts_with("bad mobile"), "{}", first.text);
    assert_eq!(rows[3]["reason"], "negative points");
    assert!(rows[4]["reason"].as_str().unwrap().starts_with("bad points"));

    let again = import(&env, &owner, &file).await;
    let status: Vec<&str> =
        again.body["rows"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["duplicate", "duplicate", "error", "error", "error", "duplicate"], "{}", again.text);
    assert_eq!(env.balance(&a, "9822200001").await, existing.balance + 500, "a second import changes nothing");
    assert_eq!(env.balance(&a, "9822200002").await, 1200);

    // Each balance is the sum of its ledger; the opening entry is its own type, shown
    // as such in the member's history.
    for (mobile, row) in [("9822200001", &rows[0]), ("9822200002", &rows[1])] {
        let id = row["customer_id"].as_str().unwrap();
        let sum: i64 = env.ledger(id).await.iter().map(|e| super::support::attr_n(e, "points")).sum();
        assert_eq!(sum, env.balance(&a, mobile).await, "{mobile}");
        let history = AdminCall::new(Admin::MemberHistory).on(id).token(&owner).send(&env.deps).await;
        assert_eq!(history.body["entries"][0]["type"], "opening", "{}", history.text);
    }

    // The header is required; a viewer may not import.
    let headless = AdminCall::new(Admin::MembersImport).token(&owner).text("9822200009,X,,1,r\n").send(&env.deps).await;
    assert_eq!((headless.status, headless.body["error"]["field"].as_str()), (400, Some("body")));
    let viewer =
        AdminCall::new(Admin::MembersImport).as_(&env, a.slug(), Role::Viewer).text(&file).send(&env.deps).await;
    assert_eq!(viewer.status, 403);
}

#[tokio::test]
async fn a_ledger_export_has_the_tenants_entries_of_the_range() {
    let env = TestEnv::new().await;
    let a = env.tenant("acme-hotels").await;
    let owner = token(&env, a.slug(), Role::Owner);
    import(&env, &owner, &import_file(9_833_300_000, 30, 40, "led")).await;
    let today = env.now().date_naive();
    let mut cursor: Option<String> = None;
    let mut rows = Vec::new();
    let mut ended = false;
    for _ in 0..20 {
        let mut call = AdminCall::new(Admin::LedgerExport)
            .token(&owner)
            .query("from", &today.to_string())
            .query("to", &today.to_string());
        if let Some(c) = &cursor {
            call = call.query("cursor", c);
        }
        let page = call.send(&env.deps).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let mut reader = csv::ReaderBuilder::new().has_headers(cursor.is_none()).from_reader(page.text.as_bytes());
        rows.extend(reader.records().map(|r| r.unwrap()));
        match page.headers.get("x-next-cursor").and_then(|v| v.to_str().ok()) {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                ended = true;
                break;
            }
        }
    }
    assert!(ended, "the walk ends");
    assert_eq!(rows.len(), 30, "one opening entry per member");
    assert!(rows.iter().all(|r| &r[2] == "opening" && &r[3] == "40"));
    let before = today.pred_opt().unwrap().to_string();
    let none = AdminCall::new(Admin::LedgerExport)
        .token(&owner)
        .query("from", &before)
        .query("to", &before)
        .send(&env.deps)
        .await;
    assert_eq!(none.text.lines().count(), 1, "no entries of another day: {}", none.text);
    let reversed =
        AdminCall::new(Admin::LedgerExport).token(&owner).query("from", "2026-02-02").query("to", "2026-02-01");
    assert_eq!(reversed.send(&env.deps).await.status, 400);
}
