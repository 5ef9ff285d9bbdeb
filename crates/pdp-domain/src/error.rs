//! The bilingual error contract shared by every domain error.
//!
//! Users of PDP read Chinese first and English second, and API clients match on stable codes, so
//! every error the domain can produce carries all three. The web crate maps these to HTTP.

/// An error that can be shown to a person in Chinese and English and matched on by a program.
pub trait Localized {
    /// A stable, machine-readable code such as `citizen_id_checksum`. Never changes once shipped.
    fn code(&self) -> &'static str;
    /// The message in Chinese.
    fn message_zh(&self) -> String;
    /// The message in English.
    fn message_en(&self) -> String;
    /// Both messages, Chinese first, as shown in API error bodies.
    fn message(&self) -> String {
        format!("{} / {}", self.message_zh(), self.message_en())
    }
}
