//! What the server is configured with: `dangol serve`'s flags, each with a `DANGOL_*` twin
//! (CONTRACT §1). The other commands' arguments are `cli`'s.

use std::path::{Path, PathBuf};

use clap::Args;

/// A secret read from the environment or a flag. Debug never prints it.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Directory holding dangol.redb, the search index and backups.
    #[arg(long, env = "DANGOL_DATA_DIR", default_value = "./data/store")]
    pub data_dir: PathBuf,
    /// The shop's time zone: "today", "midnight" and quiet hours are counted in it.
    #[arg(long, env = "DANGOL_TIMEZONE", default_value = "Asia/Seoul")]
    pub timezone: chrono_tz::Tz,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on.
    #[arg(long, env = "DANGOL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// On an empty store, load the demo shop first.
    #[arg(long, env = "DANGOL_DEMO")]
    pub demo: bool,
    /// Customers in the demo shop loaded by --demo.
    #[arg(long, env = "DANGOL_DEMO_CUSTOMERS", default_value_t = 2000)]
    pub demo_customers: usize,
    /// With --demo, the demo shop's visitors keep browsing, carting and ordering while it runs (a
    /// visit every three seconds or so, through the tracking API's ingest); `--demo-live=false`
    /// for a still shop.
    #[arg(long, env = "DANGOL_DEMO_LIVE", default_value_t = true, action = clap::ArgAction::Set)]
    pub demo_live: bool,
    /// Accepted as a bearer key on the whole admin API. Never logged.
    #[arg(long, env = "DANGOL_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<Secret>,
    /// Accepted as a write key on the tracking API. Never logged.
    #[arg(long, env = "DANGOL_WRITE_KEY", hide_env_values = true)]
    pub write_key: Option<Secret>,
    /// Password of the first admin user `admin`, used only if no user exists yet. Never logged.
    #[arg(long, env = "DANGOL_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<Secret>,
    /// The secret a storefront's `userHash` is the HMAC-SHA256 of the user id under (CONTRACT §5);
    /// also settable with `PUT /api/v1/settings/storefront`. Never logged.
    #[arg(long, env = "DANGOL_IDENTITY_SECRET", hide_env_values = true)]
    pub identity_secret: Option<Secret>,
    /// Refuse this machine's and private networks' addresses for the HTTP providers (and, later,
    /// webhooks and destinations). Off by default: a self-hosted shop often relays through its own
    /// machine.
    #[arg(long, env = "DANGOL_DENY_PRIVATE_TARGETS")]
    pub deny_private_targets: bool,
    /// For tests of the scheduler: the job runner's clock starts at this instant (RFC 3339) and
    /// runs on from there.
    #[arg(long, env = "DANGOL_NOW", hide = true)]
    pub now: Option<chrono::DateTime<chrono::FixedOffset>>,
}

impl Config {
    /// The secrets given (the rest are made up on first start).
    pub fn secrets(&self) -> crate::auth::Secrets {
        let given = |s: &Option<Secret>| s.as_ref().map(|s| s.0.clone());
        crate::auth::Secrets {
            master_key: given(&self.master_key),
            write_key: given(&self.write_key),
            admin_password: given(&self.admin_password),
        }
    }

    /// A configuration for tests: a data dir of the test's own, fixed keys, UTC+9.
    pub fn for_tests(dir: &Path) -> Config {
        Config {
            store: StoreArgs {
                data_dir: dir.to_path_buf(),
                timezone: chrono_tz::Asia::Seoul,
            },
            listen: "127.0.0.1:0".into(),
            demo: false,
            demo_customers: 2000,
            demo_live: false,
            master_key: Some(Secret("test-master-key".into())),
            write_key: Some(Secret("test-write-key".into())),
            admin_password: Some(Secret("test-admin-password".into())),
            now: None,
            deny_private_targets: false,
            identity_secret: Some(Secret("test-identity-secret".into())),
        }
    }
}
