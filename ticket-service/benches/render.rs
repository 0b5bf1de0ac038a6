//! What a ticket document costs to make: signing its code and rendering its PDF (CPU only;
//! storing it in S3 is measured by the load test's issuing rate). A drop of 50,000 paid seats
//! needs 50,000 of these.
//!
//! Run: `cargo bench -p ticket-service --bench render`

use common::signing_keys::generate_signing_key;
use criterion::{Criterion, criterion_group, criterion_main};
use ticket_service::domain::{
    code::TicketCode,
    document::{self, TicketDocument},
};
use time::OffsetDateTime;
use uuid::Uuid;

fn render(c: &mut Criterion) {
    let key = generate_signing_key().expect("a key");
    let ticket = TicketDocument {
        ticket_id: Uuid::now_v7(),
        event_title: "Night Show at the Arena".to_owned(),
        starts_at: OffsetDateTime::now_utc(),
        venue: "Salle Pleyel, 252 Rue du Faubourg Saint-Honoré, Paris".to_owned(),
        place: "Block 3, row R17, seat 42".to_owned(),
        tier: "Premium".to_owned(),
        holder_name: "Анна Щукина".to_owned(),
        code: String::new(),
    };
    c.bench_function("sign a ticket code and render its PDF", |bench| {
        bench.iter(|| {
            let code = TicketCode {
                ticket_id: ticket.ticket_id,
                event_id: ticket.ticket_id,
            }
            .sign(&key);
            document::render(&TicketDocument {
                code,
                ..ticket.clone()
            })
            .expect("renders")
        });
    });
}

criterion_group!(benches, render);
criterion_main!(benches);
