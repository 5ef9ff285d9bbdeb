//! Regions and organisation kinds.
//!
//! The platform authority works at city and district (区县) level, so regions form a tree and
//! every organisation sits in one region. The kinds of organisation follow the actors of the
//! regulations: the data authority, government departments, public-service enterprises and
//! institutions, and the operation and development entities of authorized operation.

use serde::{Deserialize, Serialize};

/// The level of a region in the administrative tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    City,
    District,
}

impl RegionLevel {
    pub const ALL: [RegionLevel; 2] = [RegionLevel::City, RegionLevel::District];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::City => "city",
            Self::District => "district",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::City => "市级",
            Self::District => "区县级",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Self::City => "City",
            Self::District => "District",
        }
    }
}

/// What kind of body an organisation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// 大数据主管部门: the platform authority.
    DataAuthority,
    /// 政务部门: a government department.
    GovernmentDepartment,
    /// 公共服务企事业单位: a public-service enterprise or institution.
    PublicServiceEnterprise,
    /// 运营主体: the operation entity of authorized operation.
    OperationEntity,
    /// 开发主体: a development entity.
    DevelopmentEntity,
    Other,
}

impl OrgKind {
    pub const ALL: [OrgKind; 6] = [
        OrgKind::DataAuthority,
        OrgKind::GovernmentDepartment,
        OrgKind::PublicServiceEnterprise,
        OrgKind::OperationEntity,
        OrgKind::DevelopmentEntity,
        OrgKind::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DataAuthority => "data_authority",
            Self::GovernmentDepartment => "government_department",
            Self::PublicServiceEnterprise => "public_service_enterprise",
            Self::OperationEntity => "operation_entity",
            Self::DevelopmentEntity => "development_entity",
            Self::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::DataAuthority => "大数据主管部门",
            Self::GovernmentDepartment => "政务部门",
            Self::PublicServiceEnterprise => "公共服务企事业单位",
            Self::OperationEntity => "运营主体",
            Self::DevelopmentEntity => "开发主体",
            Self::Other => "其他",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Self::DataAuthority => "Data authority",
            Self::GovernmentDepartment => "Government department",
            Self::PublicServiceEnterprise => "Public-service enterprise",
            Self::OperationEntity => "Operation entity",
            Self::DevelopmentEntity => "Development entity",
            Self::Other => "Other",
        }
    }
}

/// A six-digit administrative area code (GB/T 2260), validated by parsing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AreaCode(String);

impl AreaCode {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && &s[..2] != "00" {
            Ok(Self(s.to_string()))
        } else {
            Err(format!("area code {s:?} must be six digits (GB/T 2260)"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AreaCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<AreaCode> for String {
    fn from(a: AreaCode) -> String {
        a.0
    }
}
