//! Registration and the profile.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, spawn_app};

#[tokio::test]
async fn registration_normalises_the_email_and_never_returns_the_password() {
    let accounts = spawn_app().await;

    let response = accounts
        .post(
            "/v1/accounts",
            &json!({"email": "  Ada@Example.ORG ", "password": PASSWORD, "name": "Ada",
                    "phone": "+447700900123", "account_type": "organiser"}),
        )
        .await;

    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["email"], "ada@example.org");
    assert_eq!(body["role"], "organiser");
    assert_eq!(body["phone"], "+447700900123");
    let text = body.to_string();
    assert!(
        !text.contains(PASSWORD) && !text.contains("argon2"),
        "{text}"
    );
}

#[tokio::test]
async fn a_taken_email_is_409_whatever_its_case() {
    let accounts = spawn_app().await;
    accounts.register("grace@example.org", "buyer").await;

    let response = accounts
        .post(
            "/v1/accounts",
            &json!({"email": "GRACE@example.org", "password": "another long password", "name": "G"}),
        )
        .await;

    assert_eq!(response.status(), 409);
    let problem: Value = response.json().await.expect("problem");
    assert_eq!(problem["code"], "email-taken");
}

#[tokio::test]
async fn invalid_registrations_are_422_naming_each_bad_field_and_create_nothing() {
    let accounts = spawn_app().await;

    let response = accounts
        .post(
            "/v1/accounts",
            &json!({"email": "not-an-email", "password": "short", "name": "",
                    "phone": "0770 0900", "account_type": "buyer"}),
        )
        .await;

    assert_eq!(response.status(), 422);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.expect("problem");
    let fields: Vec<&str> = problem["errors"]
        .as_object()
        .expect("errors")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, ["email", "name", "password", "phone"]);
}

#[tokio::test]
async fn a_password_equal_to_the_email_is_refused() {
    let accounts = spawn_app().await;

    let response = accounts
        .post(
            "/v1/accounts",
            &json!({"email": "linus@example.org", "password": "Linus@Example.org", "name": "L"}),
        )
        .await;

    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.expect("problem");
    assert!(problem["errors"]["password"].is_string());
}

#[tokio::test]
async fn an_admin_role_cannot_be_self_registered() {
    let accounts = spawn_app().await;

    let response = accounts
        .post(
            "/v1/accounts",
            &json!({"email": "eve@example.org", "password": PASSWORD, "name": "Eve",
                    "account_type": "admin"}),
        )
        .await;

    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn the_profile_is_read_and_patched_including_notification_preferences() {
    let accounts = spawn_app().await;
    let tokens = accounts.signed_in("mae@example.org", "buyer").await;

    let patched = accounts
        .app
        .client
        .patch(accounts.app.url("/v1/me"))
        .bearer_auth(&tokens.access_token)
        .json(
            &json!({"name": "Mae J.", "phone": "+15555550123", "locale": "ru",
                      "notifications": {"email": true, "sms": true}}),
        )
        .send()
        .await
        .expect("answer");
    let bad = accounts
        .app
        .client
        .patch(accounts.app.url("/v1/me"))
        .bearer_auth(&tokens.access_token)
        .json(&json!({"phone": "12"}))
        .send()
        .await
        .expect("answer");
    let me: Value = accounts
        .get_as("/v1/me", &tokens.access_token)
        .await
        .json()
        .await
        .expect("json");

    assert_eq!(patched.status(), 200);
    assert_eq!(bad.status(), 422);
    assert_eq!(me["name"], "Mae J.");
    assert_eq!(me["phone"], "+15555550123");
    assert_eq!(me["locale"], "ru");
    assert_eq!(me["notifications"], json!({"email": true, "sms": true}));
}

#[tokio::test]
async fn many_accounts_contacts_come_in_one_lookup() {
    let accounts = spawn_app().await;
    let first = accounts.register("first@example.org", "buyer").await;
    let second = accounts.register("second@example.org", "buyer").await;
    let unknown = uuid::Uuid::now_v7();

    let found = accounts
        .post(
            "/internal/v1/contacts/lookup",
            &json!({"account_ids": [first["id"], second["id"], unknown]}),
        )
        .await;
    let empty = accounts
        .post("/internal/v1/contacts/lookup", &json!({"account_ids": []}))
        .await;

    assert_eq!(found.status(), 200);
    let found: Value = found.json().await.expect("json");
    let mut emails: Vec<&str> = found["contacts"]
        .as_array()
        .expect("contacts")
        .iter()
        .map(|contacts| contacts["email"].as_str().expect("email"))
        .collect();
    emails.sort_unstable();
    assert_eq!(
        emails,
        ["first@example.org", "second@example.org"],
        "unknown ids left out"
    );
    assert_eq!(empty.status(), 422);
}
