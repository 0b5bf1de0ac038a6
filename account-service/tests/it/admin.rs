//! Admin routes: only admins, listing pages, changing roles.

use contracts::accounts::{AccountPage, TokenPair};
use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app};

#[tokio::test]
async fn a_buyer_calling_an_admin_route_gets_403() {
    let accounts = spawn_app().await;
    let buyer = accounts.signed_in("ada@example.org", "buyer").await;

    let response = accounts
        .get_as("/v1/admin/accounts", &buyer.access_token)
        .await;

    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn an_admin_pages_through_accounts_and_changes_a_role() {
    let accounts = spawn_app().await;
    accounts.register("root@example.org", "buyer").await;
    for n in 0..5 {
        accounts
            .register(&format!("user{n}@example.org"), "buyer")
            .await;
    }
    accounts.grant_admin("root@example.org").await;
    let admin: TokenPair = accounts
        .login("root@example.org", PASSWORD)
        .await
        .json()
        .await
        .expect("pair");

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/admin/accounts?limit=2&cursor={cursor}"),
            None => "/v1/admin/accounts?limit=2".to_owned(),
        };
        let page: AccountPage = accounts
            .get_as(&path, &admin.access_token)
            .await
            .json()
            .await
            .expect("page");
        seen.extend(page.items.iter().map(|account| account.email.clone()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 6, "no account twice");

    let target = accounts
        .login("user0@example.org", PASSWORD)
        .await
        .json::<TokenPair>()
        .await
        .expect("pair");
    let me: serde_json::Value = accounts
        .get_as("/v1/me", &target.access_token)
        .await
        .json()
        .await
        .expect("me");
    let changed = accounts
        .app
        .client
        .put(accounts.app.url(&format!(
            "/v1/admin/accounts/{}/role",
            me["id"].as_str().expect("id")
        )))
        .bearer_auth(&admin.access_token)
        .json(&json!({"role": "organiser"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(changed.status(), 200);
    let relogin = accounts.login("user0@example.org", PASSWORD).await;
    let claims = decode_claims(
        &relogin
            .json::<TokenPair>()
            .await
            .expect("pair")
            .access_token,
    );
    assert_eq!(claims["role"], "organiser");
}

fn decode_claims(token: &str) -> serde_json::Value {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let payload = token.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json")
}
