//! A ticket's PDF: one A6 page with the event, date, venue, place, tier, holder, ticket id and
//! a QR code of the signed ticket code, drawn as vector squares (sharp at any zoom, a few KB).
//! Text is set in the standard Helvetica, so no font ships with the service; it speaks
//! WinAnsi, so Cyrillic is transliterated and anything else outside Latin-1 becomes `?`.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use qrcode::{Color, EcLevel, QrCode};
use time::{OffsetDateTime, format_description::well_known::Rfc2822};
use uuid::Uuid;

/// What a ticket shows.
#[derive(Debug, Clone)]
pub struct TicketDocument {
    pub ticket_id: Uuid,
    pub event_title: String,
    pub starts_at: OffsetDateTime,
    pub venue: String,
    pub place: String,
    pub tier: String,
    pub holder_name: String,
    /// The signed code the QR carries.
    pub code: String,
}

/// A6 in points.
const PAGE_WIDTH: f32 = 298.0;
const PAGE_HEIGHT: f32 = 420.0;
const MARGIN: f32 = 24.0;
const QR_SIZE: f32 = 150.0;

/// Renders the ticket; CPU only, run it off the async workers.
pub fn render(ticket: &TicketDocument) -> Result<Vec<u8>, qrcode::types::QrError> {
    let qr = QrCode::with_error_correction_level(ticket.code.as_bytes(), EcLevel::M)?;
    let catalog_id = Ref::new(1);
    let pages_id = Ref::new(2);
    let page_id = Ref::new(3);
    let font_id = Ref::new(4);
    let bold_id = Ref::new(5);
    let content_id = Ref::new(6);
    let regular = Name(b"F1");
    let bold = Name(b"F2");

    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(pages_id);
    pdf.pages(pages_id).kids([page_id]).count(1);
    let mut page = pdf.page(page_id);
    page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
    page.parent(pages_id);
    page.contents(content_id);
    page.resources()
        .fonts()
        .pair(regular, font_id)
        .pair(bold, bold_id);
    page.finish();
    pdf.type1_font(font_id)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold_id)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));

    let mut content = Content::new();
    let starts = ticket
        .starts_at
        .format(&Rfc2822)
        .unwrap_or_else(|_| ticket.starts_at.to_string());
    let lines: [(Name, f32, String); 7] = [
        (bold, 15.0, ticket.event_title.clone()),
        (regular, 10.0, starts),
        (regular, 10.0, ticket.venue.clone()),
        (bold, 12.0, ticket.place.clone()),
        (regular, 10.0, format!("Tier: {}", ticket.tier)),
        (regular, 10.0, format!("Holder: {}", ticket.holder_name)),
        (regular, 7.0, format!("Ticket {}", ticket.ticket_id)),
    ];
    let mut y = PAGE_HEIGHT - MARGIN - 12.0;
    for (font, size, text) in &lines {
        content.begin_text();
        content.set_font(*font, *size);
        content.next_line(MARGIN, y);
        content.show(Str(&win_ansi(text)));
        content.end_text();
        y -= size * 1.6;
    }

    let modules = qr.width();
    let quiet = 2.0;
    let cell = QR_SIZE / (modules as f32 + 2.0 * quiet);
    let left = (PAGE_WIDTH - QR_SIZE) / 2.0;
    let top = MARGIN + QR_SIZE;
    for (index, color) in qr.to_colors().iter().enumerate() {
        if *color == Color::Dark {
            let (column, row) = ((index % modules) as f32, (index / modules) as f32);
            content.rect(
                left + (column + quiet) * cell,
                top - (row + quiet + 1.0) * cell,
                cell,
                cell,
            );
        }
    }
    content.fill_nonzero();
    pdf.stream(content_id, &content.finish());
    Ok(pdf.finish())
}

/// Text as WinAnsi bytes: Latin-1 as it is, Cyrillic transliterated, the rest `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len());
    for character in text.chars() {
        match u8::try_from(u32::from(character)) {
            Ok(byte) if byte >= 0x20 && !(0x7f..0xa0).contains(&byte) => bytes.push(byte),
            _ => match transliterate(character) {
                Some(latin) => bytes.extend_from_slice(latin.as_bytes()),
                None => bytes.push(b'?'),
            },
        }
    }
    bytes
}

fn transliterate(character: char) -> Option<&'static str> {
    const LOWER: [&str; 32] = [
        "a", "b", "v", "g", "d", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s",
        "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya",
    ];
    const UPPER: [&str; 32] = [
        "A", "B", "V", "G", "D", "E", "Zh", "Z", "I", "Y", "K", "L", "M", "N", "O", "P", "R", "S",
        "T", "U", "F", "Kh", "Ts", "Ch", "Sh", "Shch", "", "Y", "", "E", "Yu", "Ya",
    ];
    match character {
        'а'..='я' => LOWER
            .get((u32::from(character) - u32::from('а')) as usize)
            .copied(),
        'А'..='Я' => UPPER
            .get((u32::from(character) - u32::from('А')) as usize)
            .copied(),
        'ё' => Some("yo"),
        'Ё' => Some("Yo"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_outside_latin_1_is_transliterated_or_replaced() {
        assert_eq!(win_ansi("Zoë"), b"Zo\xeb");
        assert_eq!(win_ansi("Анна Щукина"), b"Anna Shchukina");
        assert_eq!(win_ansi("東京"), b"??");
    }

    #[test]
    fn a_ticket_renders_as_a_pdf_with_its_text() {
        let document = TicketDocument {
            ticket_id: Uuid::now_v7(),
            event_title: "Night Show".to_owned(),
            starts_at: OffsetDateTime::now_utc(),
            venue: "Hall, 1 Main St, Lyon".to_owned(),
            place: "Stalls, row F, seat 12".to_owned(),
            tier: "Premium".to_owned(),
            holder_name: "Ada".to_owned(),
            code: "TKT1.code.signature".to_owned(),
        };
        let pdf = render(&document).expect("renders");
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("(Stalls, row F, seat 12) Tj"), "{text}");
        assert!(text.contains("Holder: Ada"));
    }
}
