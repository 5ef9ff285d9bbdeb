//! Chinese first, English second: the language of a page comes from the `pdp_lang` cookie
//! (set by `/lang/{code}`), and Chinese is the default.

use axum::http::HeaderMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn from_headers(h: &HeaderMap) -> Self {
        match crate::auth::cookie(h, "pdp_lang") {
            Some("en") => Self::En,
            _ => Self::Zh,
        }
    }

    /// Picks the text in this language.
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Zh => zh,
            Self::En => en,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }
}
