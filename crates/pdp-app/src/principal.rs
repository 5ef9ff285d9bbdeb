//! Who asks: the authenticated caller of a use case, and how it proved who it is.
//!
//! The HTTP layer makes a principal from a session cookie or an API key; the use cases check
//! its roles and scope it to its organisation, and every audit event it causes names it.

use std::sync::Arc;

use pdp_audit::{NewEvent, Outcome};
use pdp_domain::roles::{Permission, allows};
use pdp_storage::User;

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    Session { token_hash: String, csrf: String },
    ApiKey { id: i64 },
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Shared with the access cache: every request clones its principal at least once (the
    /// `Extension` extractor), and the account's strings need not be copied each time.
    pub user: Arc<User>,
    pub via: Via,
    /// The organisation the caller acts for: the key's scope, or the account's organisation.
    pub org_id: Option<i64>,
}

impl Principal {
    pub fn allows(&self, p: Permission) -> bool {
        allows(&self.user.roles, p)
    }

    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf, .. } => csrf,
            Via::ApiKey { .. } => "",
        }
    }

    /// How the caller came in, as events record it: `session` or `api_key:{id}`.
    pub fn via_label(&self) -> String {
        match &self.via {
            Via::Session { .. } => "session".to_string(),
            // Put together by hand: this runs on every data access, and `format!` showed in its
            // profile.
            Via::ApiKey { id } => ["api_key:", itoa::Buffer::new().format(*id)].concat(),
        }
    }

    /// An audit event by this caller; its detail says how the caller came in.
    pub fn event(&self, action: &str, object: &str) -> NewEvent {
        self.event_with_detail(action, object, serde_json::json!({ "via": self.via_label() }).to_string())
    }

    /// An audit event by this caller with a detail of the caller's making (which should say
    /// how the caller came in, as [`Principal::event`]'s does).
    pub fn event_with_detail(&self, action: &str, object: &str, detail: String) -> NewEvent {
        NewEvent {
            actor: self.user.username.clone(),
            actor_id: Some(self.user.id),
            org_id: self.org_id,
            role: pdp_storage::roles_to_text(&self.user.roles),
            action: action.into(),
            object: object.into(),
            purpose: String::new(),
            outcome: Outcome::Success,
            request_hash: String::new(),
            detail,
        }
    }
}
