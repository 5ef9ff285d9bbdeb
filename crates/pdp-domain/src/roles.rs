//! Roles, permissions and the separation of duties.
//!
//! Access in PDP is denied unless a permission grants it. Each role maps to a fixed set of
//! permissions (below), every route declares the one permission it needs, and an account holds
//! one or more roles. Foshan art. 40 requires security management, data operation and audit
//! review to be done by different people (the "三员" pattern of government systems), so roles fall
//! into duty classes and an account may hold roles of one class only: a security administrator
//! never audits, an auditor never operates data or administers security.

use serde::{Deserialize, Serialize};

use crate::Localized;

/// A role an account can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 平台管理员 (system administrator): regions, organisations, accounts.
    PlatformAdmin,
    /// 目录审核员: reviews catalog entries for the authority.
    CatalogReviewer,
    /// 单位数据专员: an organisation's data officer.
    OrgDataOfficer,
    /// 单位审批人: approves share requests for an organisation.
    OrgApprover,
    /// 安全管理员: assigns roles, manages credentials and security policy.
    SecurityAdmin,
    /// 安全审计员: reviews the audit log; operates nothing.
    Auditor,
    /// 运营管理员: administers the operation entity in authorized operation.
    OperatorAdmin,
    /// 开发者: a licensed developer of a development entity.
    Developer,
    /// 公众用户: a member of the public on the open portal.
    PublicUser,
}

/// The duty class of a role, for the separation of duties (FS 40).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    Security,
    Audit,
    Operation,
    /// Public users operate nothing internal and may hold any other role too.
    Public,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::PlatformAdmin,
        Role::CatalogReviewer,
        Role::OrgDataOfficer,
        Role::OrgApprover,
        Role::SecurityAdmin,
        Role::Auditor,
        Role::OperatorAdmin,
        Role::Developer,
        Role::PublicUser,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PlatformAdmin => "platform_admin",
            Self::CatalogReviewer => "catalog_reviewer",
            Self::OrgDataOfficer => "org_data_officer",
            Self::OrgApprover => "org_approver",
            Self::SecurityAdmin => "security_admin",
            Self::Auditor => "auditor",
            Self::OperatorAdmin => "operator_admin",
            Self::Developer => "developer",
            Self::PublicUser => "public_user",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::PlatformAdmin => "平台管理员",
            Self::CatalogReviewer => "目录审核员",
            Self::OrgDataOfficer => "单位数据专员",
            Self::OrgApprover => "单位审批人",
            Self::SecurityAdmin => "安全管理员",
            Self::Auditor => "安全审计员",
            Self::OperatorAdmin => "运营管理员",
            Self::Developer => "开发者",
            Self::PublicUser => "公众用户",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::PlatformAdmin => "Platform administrator",
            Self::CatalogReviewer => "Catalog reviewer",
            Self::OrgDataOfficer => "Data officer",
            Self::OrgApprover => "Approver",
            Self::SecurityAdmin => "Security administrator",
            Self::Auditor => "Auditor",
            Self::OperatorAdmin => "Operator administrator",
            Self::Developer => "Developer",
            Self::PublicUser => "Public user",
        }
    }

    pub fn duty(self) -> Duty {
        match self {
            Self::SecurityAdmin => Duty::Security,
            Self::Auditor => Duty::Audit,
            Self::PublicUser => Duty::Public,
            _ => Duty::Operation,
        }
    }

    /// Roles that act for one organisation and so need the account to belong to one.
    pub fn needs_organisation(self) -> bool {
        matches!(self, Self::OrgDataOfficer | Self::OrgApprover | Self::OperatorAdmin | Self::Developer)
    }

    /// The permissions this role grants. This table is the whole access policy of the roles.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Self::PlatformAdmin => &[
                ViewDashboard,
                ManageOwnApiKeys,
                ViewOrgs,
                ManageOrgs,
                ViewUsers,
                ManageUsers,
                ViewCatalog,
                ViewDatasets,
            ],
            Self::SecurityAdmin => {
                &[ViewDashboard, ManageOwnApiKeys, ViewOrgs, ViewUsers, AssignRoles, ManageAllApiKeys]
            }
            Self::Auditor => {
                &[ViewDashboard, ManageOwnApiKeys, ViewOrgs, ViewUsers, ViewAudit, ExportAudit, VerifyAudit]
            }
            Self::CatalogReviewer => &[
                ViewDashboard,
                ManageOwnApiKeys,
                ViewOrgs,
                ViewCatalog,
                ReviewCatalog,
                RecordCatalogChange,
                ViewDatasets,
                GovernData,
                ViewBaseData,
                RaiseObjection,
                ViewShares,
                ManageGrants,
                ReviewOpenData,
                GovernOperation,
            ],
            Self::OrgDataOfficer => &[
                ViewDashboard,
                ManageOwnApiKeys,
                ViewOrgs,
                ViewCatalog,
                EditCatalog,
                RecordCatalogChange,
                ViewDatasets,
                LoadData,
                RaiseObjection,
                ViewShares,
                RequestShare,
                UseShare,
                PublishOpenData,
            ],
            Self::OrgApprover => &[
                ViewDashboard,
                ManageOwnApiKeys,
                ViewOrgs,
                ViewCatalog,
                ViewDatasets,
                RaiseObjection,
                ViewShares,
                ApproveShare,
                ManageGrants,
            ],
            Self::OperatorAdmin => &[ViewDashboard, ManageOwnApiKeys, ViewOrgs, RaiseObjection, RunOperation],
            Self::Developer => &[ViewDashboard, ManageOwnApiKeys, ViewOrgs, RaiseObjection, DevelopProducts],
            Self::PublicUser => &[ViewDashboard, ManageOwnApiKeys, RaiseObjection],
        }
    }
}

/// Something a route or action needs. Routes with no permission are public (login, health).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    ViewDashboard,
    ManageOwnApiKeys,
    ViewOrgs,
    ManageOrgs,
    ViewUsers,
    ManageUsers,
    AssignRoles,
    ManageAllApiKeys,
    ViewAudit,
    ExportAudit,
    VerifyAudit,
    /// Read the catalog of government resources (master catalog, derived catalogs, search).
    ViewCatalog,
    /// Draft, edit, submit and import the own organisation's catalog entries and systems.
    EditCatalog,
    /// Approve or reject submitted entries of organisations in the reviewer's region.
    ReviewCatalog,
    /// Record a change of legal basis or functions that obliges catalog updates (R-CAT-04).
    RecordCatalogChange,
    /// See datasets' load history, quality scores, overdue warnings and quality tasks: of the
    /// own organisation for its staff, of the region for reviewers (the authority).
    ViewDatasets,
    /// Load the own organisation's datasets (upload, push), correct quarantined rows, answer
    /// quality tasks and read the own datasets' rows.
    LoadData,
    /// Assign authoritative sources of data elements, run the cross-check, see the duplicate
    /// collection analysis and set up data return to districts (the authority, R-AGG-03/07).
    GovernData,
    /// See the population and legal-entity base views and one subject across datasets
    /// (R-AGG-06); every view is audited.
    ViewBaseData,
    /// Raise an objection to a record (a data subject or a data user, R-OBJ-01).
    RaiseObjection,
    /// See share requests and grants of the own organisation (both ways), or of the region for
    /// the authority.
    ViewShares,
    /// Request another organisation's data for the own organisation (R-SHR-05).
    RequestShare,
    /// Approve or refuse requests for the own organisation's data (R-SHR-03).
    ApproveShare,
    /// Suspend, resume or revoke grants: the provider's approvers and the authority (R-SHR-13).
    ManageGrants,
    /// Use the own organisation's grants: view, verify, statistics, bulk (R-SHR-04).
    UseShare,
    /// Prepare open releases of the own organisation's data and withdraw them (R-OPN-04).
    PublishOpenData,
    /// The security and confidentiality review of open releases in the reviewer's region, and
    /// their withdrawal (R-OPN-05).
    ReviewOpenData,
    /// The city data authority's side of authorized operation: operation agreements, the
    /// operation resource catalog, confirmations, supervision and exits (R-OPS-01..11).
    GovernOperation,
    /// The operation entity's side: development agreements, the development catalog, reviews
    /// of applications and products, sales (R-OPS-01, 03, 04, 08, 09).
    RunOperation,
    /// A development entity's side: scenario applications and products (R-OPS-04, 08).
    DevelopProducts,
}

/// Whether any of `roles` grants `perm`.
pub fn allows(roles: &[Role], perm: Permission) -> bool {
    roles.iter().any(|r| r.permissions().contains(&perm))
}

/// Why a set of roles cannot be given to an account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("separation of duties: {0:?} and {1:?} cannot be held by one account")]
    SeparationOfDuties(Role, Role),
    #[error("role {0:?} needs the account to belong to an organisation")]
    NeedsOrganisation(Role),
    #[error("an account needs at least one role")]
    Empty,
}

impl Localized for RoleError {
    fn code(&self) -> &'static str {
        match self {
            Self::SeparationOfDuties(..) => "separation_of_duties",
            Self::NeedsOrganisation(_) => "role_needs_organisation",
            Self::Empty => "roles_empty",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Self::SeparationOfDuties(a, b) => format!(
                "职责分离：同一账号不能同时担任“{}”和“{}”（安全管理、数据操作、审计须由不同人员负责）",
                a.label_zh(),
                b.label_zh()
            ),
            Self::NeedsOrganisation(r) => format!("角色“{}”须属于某一单位", r.label_zh()),
            Self::Empty => "账号至少需要一个角色".into(),
        }
    }
    fn message_en(&self) -> String {
        match self {
            Self::SeparationOfDuties(a, b) => format!(
                "separation of duties: one account cannot be both {} and {} (security management, data operation and audit review are done by different people)",
                a.label_en(),
                b.label_en()
            ),
            Self::NeedsOrganisation(r) => {
                format!("the role {} needs an account that belongs to an organisation", r.label_en())
            }
            Self::Empty => "an account needs at least one role".into(),
        }
    }
}

/// Checks a set of roles for an account, `has_org` telling whether it belongs to an organisation.
pub fn validate_roles(roles: &[Role], has_org: bool) -> Result<(), RoleError> {
    if roles.is_empty() {
        return Err(RoleError::Empty);
    }
    for (i, &a) in roles.iter().enumerate() {
        for &b in &roles[i + 1..] {
            let (da, db) = (a.duty(), b.duty());
            if da != db && da != Duty::Public && db != Duty::Public {
                return Err(RoleError::SeparationOfDuties(a, b));
            }
        }
        if a.needs_organisation() && !has_org {
            return Err(RoleError::NeedsOrganisation(a));
        }
    }
    // Who asks for data does not also decide on it: a role that requests shares and one that
    // approves them (or, as the authority, decides escalated requests) are never one account's,
    // so nobody grants their own organisation's request (R-SEC-06).
    let requests = |r: &Role| r.permissions().contains(&Permission::RequestShare);
    let decides = |r: &Role| {
        let p = r.permissions();
        p.contains(&Permission::ApproveShare) || p.contains(&Permission::GovernData)
    };
    if let (Some(a), Some(b)) = (roles.iter().find(|r| requests(r)), roles.iter().find(|r| decides(r))) {
        return Err(RoleError::SeparationOfDuties(*a, *b));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// covers: R-SEC-06 (requesting and approving or deciding shares are never one account's)
    #[test]
    fn requesting_and_deciding_conflict() {
        for decider in [Role::OrgApprover, Role::CatalogReviewer] {
            assert_eq!(
                validate_roles(&[Role::OrgDataOfficer, decider], true),
                Err(RoleError::SeparationOfDuties(Role::OrgDataOfficer, decider))
            );
        }
        assert_eq!(validate_roles(&[Role::OrgApprover, Role::CatalogReviewer], true), Ok(()));
    }

    /// covers: R-SEC-05 (security admin and auditor never together)
    #[test]
    fn security_admin_and_auditor_conflict() {
        assert_eq!(
            validate_roles(&[Role::SecurityAdmin, Role::Auditor], true),
            Err(RoleError::SeparationOfDuties(Role::SecurityAdmin, Role::Auditor))
        );
    }

    /// covers: R-SEC-05 (auditor never with a data-operating role)
    #[test]
    fn auditor_and_operating_roles_conflict() {
        for r in Role::ALL {
            if r.duty() == Duty::Operation {
                assert!(validate_roles(&[Role::Auditor, r], true).is_err(), "{r:?}");
                assert!(validate_roles(&[r, Role::Auditor], true).is_err(), "{r:?}");
            }
        }
    }

    /// covers: R-SEC-05
    #[test]
    fn compatible_roles_pass() {
        assert!(validate_roles(&[Role::OrgApprover, Role::CatalogReviewer], true).is_ok());
        assert!(validate_roles(&[Role::OrgDataOfficer, Role::PublicUser], true).is_ok());
        assert!(validate_roles(&[Role::Auditor, Role::PublicUser], false).is_ok());
        assert_eq!(validate_roles(&[], true), Err(RoleError::Empty));
        assert_eq!(validate_roles(&[Role::Developer], false), Err(RoleError::NeedsOrganisation(Role::Developer)));
    }

    /// covers: R-SEC-04 (deny by default: only the auditor reads the audit log)
    #[test]
    fn audit_permissions_only_for_auditor() {
        for r in Role::ALL {
            assert_eq!(allows(&[r], Permission::ViewAudit), r == Role::Auditor, "{r:?}");
        }
        assert!(!allows(&[], Permission::ViewDashboard));
    }

    proptest! {
        /// covers: R-SEC-05 (any accepted set holds at most one internal duty class)
        #[test]
        fn accepted_sets_have_one_duty(idx in proptest::collection::vec(0usize..9, 1..5)) {
            let roles: Vec<Role> = idx.into_iter().map(|i| Role::ALL[i]).collect();
            if validate_roles(&roles, true).is_ok() {
                let duties: std::collections::HashSet<_> = roles.iter().map(|r| r.duty()).filter(|d| *d != Duty::Public).map(|d| d as u8).collect();
                prop_assert!(duties.len() <= 1);
            }
        }
    }
}
