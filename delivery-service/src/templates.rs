//! Message templates (minijinja), compiled into the binary from `templates/`: per locale and
//! notice kind a subject, a plain-text and an HTML email body (HTML escaped automatically,
//! on a shared layout), and an SMS text.

use anyhow::Context;
use contracts::accounts::Locale;
use minijinja::{Environment, Value, context};

use crate::domain::notice::{Kind, Values};

macro_rules! templates {
    ($($locale:literal => [$($kind:literal),*]),*) => {
        &[
            ("layout.html", include_str!("../templates/layout.html")),
            $($(
                (concat!($locale, "/", $kind, ".subject"), include_str!(concat!("../templates/", $locale, "/", $kind, ".subject"))),
                (concat!($locale, "/", $kind, ".txt"), include_str!(concat!("../templates/", $locale, "/", $kind, ".txt"))),
                (concat!($locale, "/", $kind, ".html"), include_str!(concat!("../templates/", $locale, "/", $kind, ".html"))),
                (concat!($locale, "/", $kind, ".sms"), include_str!(concat!("../templates/", $locale, "/", $kind, ".sms"))),
            )*)*
        ]
    };
}

const SOURCES: &[(&str, &str)] = templates!(
    "en" => ["reserved", "rejected", "expired", "refunded", "tickets"],
    "ru" => ["reserved", "rejected", "expired", "refunded", "tickets"]
);

/// A notice in words, for each channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub sms: String,
}

pub struct Templates {
    environment: Environment<'static>,
}

impl Templates {
    /// Parses every template; a broken one fails the start, not a send.
    pub fn load() -> anyhow::Result<Self> {
        let mut environment = Environment::new();
        for (name, source) in SOURCES {
            environment
                .add_template(name, source)
                .with_context(|| format!("template {name}"))?;
        }
        Ok(Self { environment })
    }

    pub fn render(
        &self,
        kind: Kind,
        locale: Locale,
        name: &str,
        values: &Values,
    ) -> anyhow::Result<Rendered> {
        let render = |part: &str, subject: &str| {
            let template = format!("{}/{}.{part}", locale.as_str(), kind.as_str());
            self.environment
                .get_template(&template)
                .and_then(|template| {
                    template.render(context! { name => name, subject => subject, ..Value::from_serialize(values) })
                })
                .with_context(|| format!("rendering {template}"))
        };
        let subject = render("subject", "")?.trim().to_owned();
        Ok(Rendered {
            text: render("txt", &subject)?,
            html: render("html", &subject)?,
            sms: render("sms", &subject)?.trim().to_owned(),
            subject,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::notice::TicketLink;
    use uuid::Uuid;

    fn values() -> Values {
        Values {
            order_id: Uuid::nil(),
            places: 2,
            amount: "90.00 EUR".to_owned(),
            hold_expires_at: "2031-06-01 20:10 UTC".to_owned(),
            event: "Night <Show>".to_owned(),
            starts_at: "2031-06-01 20:00 UTC".to_owned(),
            tickets: vec![TicketLink {
                place: "Stalls, row A, seat 1".to_owned(),
                link: "http://127.0.0.1:8080/v1/tickets/t/document".to_owned(),
            }],
            ..Values::default()
        }
    }

    #[test]
    fn every_notice_renders_in_english_and_russian() {
        let templates = Templates::load().expect("templates parse");
        for kind in [
            Kind::Reserved,
            Kind::Rejected,
            Kind::Expired,
            Kind::Refunded,
            Kind::Tickets,
        ] {
            for locale in [Locale::En, Locale::Ru] {
                let rendered = templates
                    .render(kind, locale, "Ada", &values())
                    .expect("renders");
                assert!(!rendered.subject.is_empty(), "{kind:?} {locale:?}");
                assert!(rendered.text.contains("Ada"), "{kind:?} {locale:?}");
                assert!(
                    rendered.html.starts_with("<!doctype html>"),
                    "{kind:?} {locale:?}"
                );
                assert!(!rendered.sms.is_empty());
            }
        }
    }

    #[test]
    fn the_buyers_language_is_used_and_html_is_escaped() {
        let templates = Templates::load().expect("templates parse");
        let english = templates
            .render(Kind::Tickets, Locale::En, "Ada", &values())
            .expect("renders");
        let russian = templates
            .render(Kind::Tickets, Locale::Ru, "Ада", &values())
            .expect("renders");
        assert!(
            english.subject.starts_with("Your tickets"),
            "{}",
            english.subject
        );
        assert!(
            russian.subject.starts_with("Ваши билеты"),
            "{}",
            russian.subject
        );
        assert!(
            english
                .text
                .contains("Stalls, row A, seat 1: http://127.0.0.1:8080/v1/tickets/t/document")
        );
        assert!(
            english.html.contains("Night &lt;Show&gt;"),
            "{}",
            english.html
        );
        assert!(
            english.text.contains("Night <Show>"),
            "plain text is not escaped"
        );
    }
}
