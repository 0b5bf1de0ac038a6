//! What authentication costs: verifying an access token (paid on every authenticated request
//! of every service, so it must stay far below the 100 microseconds a 10k rps drop allows per
//! request per core), and hashing or verifying a password (paid once per login or
//! registration, deliberately expensive).
//!
//! Run: `cargo bench -p account-service --bench auth`

use std::time::Duration;

use account_service::{
    config::{PasswordConfig, TokenConfig},
    keys::SigningKeys,
    passwords::Passwords,
    tokens::TokenIssuer,
};
use common::signing_keys::{SigningKeySource, generate_signing_key};
use common::{auth::Authenticator, config::TokenVerificationConfig};
use contracts::accounts::Role;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use uuid::Uuid;

fn token_verification(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let config = TokenConfig {
        verification: TokenVerificationConfig {
            issuer: "bench".to_owned(),
            audience: "bench".to_owned(),
            jwks_url: String::new(),
            jwks_min_refresh_interval: Duration::from_secs(5),
        },
        signing_key: SigningKeySource::File {
            path: "unused".into(),
            generate_if_missing: false,
        },
        extra_public_key_files: Vec::new(),
        access_token_ttl: Duration::from_secs(900),
        refresh_token_ttl: Duration::from_secs(3600),
    };
    let keys = SigningKeys::new(&generate_signing_key().expect("key"), &[]).expect("keys");
    let issuer = TokenIssuer::new(keys, &config);
    let jwks = issuer.jwks();
    let authenticator = Authenticator::fixed(jwks, "bench", "bench").expect("keys");
    let token = issuer
        .access_token(Uuid::now_v7(), Role::Buyer, Uuid::now_v7())
        .expect("token");

    // A token's first request pays the signature; the ones after find it verified already.
    // At a drop every buyer's first request comes in the same second.
    c.bench_function(
        "access token: first sight (EdDSA signature, claims checked)",
        |b| {
            b.iter_batched(
                || Authenticator::fixed(jwks, "bench", "bench").expect("keys"),
                |fresh| {
                    runtime
                        .block_on(fresh.verify(std::hint::black_box(&token)))
                        .expect("valid")
                },
                BatchSize::SmallInput,
            );
        },
    );
    runtime
        .block_on(authenticator.verify(&token))
        .expect("valid");
    c.bench_function("access token: seen before (cached, expiry checked)", |b| {
        b.iter(|| {
            runtime
                .block_on(authenticator.verify(std::hint::black_box(&token)))
                .expect("valid")
        });
    });
    c.bench_function("access token: issue (EdDSA sign)", |b| {
        b.iter(|| {
            issuer
                .access_token(Uuid::now_v7(), Role::Buyer, Uuid::now_v7())
                .expect("token")
        });
    });
}

fn password_hashing(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let passwords = Passwords::new(&PasswordConfig {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
        max_concurrent_hashes: 1,
    })
    .expect("argon2");
    let stored = runtime
        .block_on(passwords.hash("correct horse battery staple".to_owned()))
        .expect("hash");

    let mut group = c.benchmark_group("password (argon2id, m=19 MiB, t=2, p=1)");
    group.sample_size(20);
    group.bench_function("verify", |b| {
        b.iter(|| {
            runtime
                .block_on(passwords.verify(
                    "correct horse battery staple".to_owned(),
                    Some(stored.clone()),
                ))
                .expect("verified")
        });
    });
    group.finish();
}

criterion_group!(benches, token_verification, password_hashing);
criterion_main!(benches);
