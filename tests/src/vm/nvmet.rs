//! Linux nvmet target set up through configfs from a declarative description.
//!
//! Runs inside the vm tier's guest (root, real 6.12 kernel). [`Target::apply`] builds hosts,
//! subsystems with file-backed namespaces, ports with their subsystem links and referrals;
//! [`Nvmet::clear`] removes everything in the reverse order configfs demands.

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// Where nvmet's configfs tree lives.
pub const NVMET_ROOT: &str = "/sys/kernel/config/nvmet";

#[derive(Debug, Clone)]
pub struct Namespace {
    pub nsid: u32,
    pub size_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct Subsystem {
    pub nqn: String,
    /// Empty with `allow_any_host` true: any host may connect.
    pub allowed_hosts: Vec<String>,
    pub allow_any_host: bool,
    pub namespaces: Vec<Namespace>,
}

impl Subsystem {
    /// An open subsystem with no namespaces (enough for discovery tests).
    pub fn open(nqn: impl Into<String>) -> Self {
        Self {
            nqn: nqn.into(),
            allowed_hosts: Vec::new(),
            allow_any_host: true,
            namespaces: Vec::new(),
        }
    }

    pub fn with_namespace(mut self, nsid: u32, size_bytes: u64) -> Self {
        self.namespaces.push(Namespace { nsid, size_bytes });
        self
    }
}

#[derive(Debug, Clone)]
pub struct Referral {
    pub name: String,
    pub trtype: String,
    pub adrfam: String,
    pub traddr: String,
    pub trsvcid: String,
    pub portid: u16,
}

#[derive(Debug, Clone)]
pub struct Port {
    pub id: u16,
    pub trtype: String,
    pub adrfam: String,
    pub traddr: String,
    pub trsvcid: String,
    /// NQNs of subsystems linked to this port (a port only listens once one is linked).
    pub subsystems: Vec<String>,
    pub referrals: Vec<Referral>,
    /// TLS 1.3 required on this port (`addr_tsas` = tls1.3; tcp only).
    pub tls: bool,
}

impl Port {
    pub fn tcp(id: u16, traddr: &str, trsvcid: &str) -> Self {
        Self {
            id,
            trtype: "tcp".into(),
            adrfam: if traddr.contains(':') { "ipv6" } else { "ipv4" }.into(),
            traddr: traddr.into(),
            trsvcid: trsvcid.into(),
            subsystems: Vec::new(),
            referrals: Vec::new(),
            tls: false,
        }
    }
}

/// The whole target of one scenario.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub hosts: Vec<String>,
    pub subsystems: Vec<Subsystem>,
    pub ports: Vec<Port>,
}

fn write_attr(dir: &Path, attr: &str, value: &str) -> io::Result<()> {
    fs::write(dir.join(attr), value).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("{}/{attr} <- {value:?}: {e}", dir.display()),
        )
    })
}

fn mkdir(dir: &Path) -> io::Result<()> {
    fs::create_dir(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("mkdir {}: {e}", dir.display())))
}

/// Handle on the configfs tree (and the directory holding namespace backing files).
#[derive(Debug, Clone)]
pub struct Nvmet {
    root: PathBuf,
    backing_dir: PathBuf,
}

impl Nvmet {
    pub fn new(root: impl Into<PathBuf>, backing_dir: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            backing_dir: backing_dir.into(),
        }
    }

    pub fn port_dir(&self, id: u16) -> PathBuf {
        self.root.join("ports").join(id.to_string())
    }

    pub fn subsys_dir(&self, nqn: &str) -> PathBuf {
        self.root.join("subsystems").join(nqn)
    }

    /// Creates everything `target` describes. On error the caller should still [`Self::clear`].
    pub fn apply(&self, target: &Target) -> io::Result<()> {
        for host in &target.hosts {
            mkdir(&self.root.join("hosts").join(host))?;
        }
        for s in &target.subsystems {
            self.add_subsystem(s)?;
        }
        for p in &target.ports {
            self.add_port(p)?;
        }
        Ok(())
    }

    /// Creates port `p` with its referrals and links (it listens once a subsystem is linked).
    pub fn add_port(&self, p: &Port) -> io::Result<()> {
        let dir = self.port_dir(p.id);
        mkdir(&dir)?;
        write_attr(&dir, "addr_trtype", &p.trtype)?;
        write_attr(&dir, "addr_adrfam", &p.adrfam)?;
        write_attr(&dir, "addr_traddr", &p.traddr)?;
        write_attr(&dir, "addr_trsvcid", &p.trsvcid)?;
        if p.tls {
            // Before any link: nvmet refuses the change on an enabled port.
            write_attr(&dir, "addr_tsas", "tls1.3")?;
            write_attr(&dir, "addr_treq", "required")?;
        }
        for r in &p.referrals {
            self.add_referral(p.id, r)?;
        }
        for nqn in &p.subsystems {
            self.link(p.id, nqn)?;
        }
        Ok(())
    }

    /// Removes port `id` with its links and referrals: nvmet stops listening and closes every
    /// connection on it.
    pub fn remove_port(&self, id: u16) -> io::Result<()> {
        let pd = self.port_dir(id);
        for link in read_dir_names(&pd.join("subsystems"))? {
            fs::remove_file(pd.join("subsystems").join(link))?;
        }
        for r in read_dir_names(&pd.join("referrals"))? {
            let rd = pd.join("referrals").join(r);
            let _ = fs::write(rd.join("enable"), "0");
            fs::remove_dir(rd)?;
        }
        fs::remove_dir(pd)
    }

    /// NQNs of the subsystems linked to port `id`.
    pub fn linked(&self, id: u16) -> io::Result<Vec<String>> {
        read_dir_names(&self.port_dir(id).join("subsystems"))
    }

    fn add_subsystem(&self, s: &Subsystem) -> io::Result<()> {
        let dir = self.subsys_dir(&s.nqn);
        mkdir(&dir)?;
        write_attr(
            &dir,
            "attr_allow_any_host",
            if s.allow_any_host { "1" } else { "0" },
        )?;
        for h in &s.allowed_hosts {
            symlink(
                self.root.join("hosts").join(h),
                dir.join("allowed_hosts").join(h),
            )?;
        }
        for ns in &s.namespaces {
            let backing = self.backing_dir.join(format!(
                "{}-ns{}.img",
                s.nqn.replace(['/', ':'], "_"),
                ns.nsid
            ));
            fs::File::create(&backing)?.set_len(ns.size_bytes)?;
            let nd = dir.join("namespaces").join(ns.nsid.to_string());
            mkdir(&nd)?;
            write_attr(&nd, "device_path", &backing.to_string_lossy())?;
            // Backing files live on tmpfs, which has no O_DIRECT.
            write_attr(&nd, "buffered_io", "1")?;
            write_attr(&nd, "enable", "1")?;
        }
        Ok(())
    }

    /// Exposes subsystem `nqn` on port `port` (a discovery log change for connected DCs).
    pub fn link(&self, port: u16, nqn: &str) -> io::Result<()> {
        symlink(
            self.subsys_dir(nqn),
            self.port_dir(port).join("subsystems").join(nqn),
        )
        .map_err(|e| io::Error::new(e.kind(), format!("link {nqn} to port {port}: {e}")))
    }

    /// Hides subsystem `nqn` from port `port` (a discovery log change for connected DCs).
    pub fn unlink(&self, port: u16, nqn: &str) -> io::Result<()> {
        fs::remove_file(self.port_dir(port).join("subsystems").join(nqn))
            .map_err(|e| io::Error::new(e.kind(), format!("unlink {nqn} from port {port}: {e}")))
    }

    /// Adds and enables a referral on `port` (a discovery log change for connected DCs).
    pub fn add_referral(&self, port: u16, r: &Referral) -> io::Result<()> {
        let rd = self.port_dir(port).join("referrals").join(&r.name);
        mkdir(&rd)?;
        write_attr(&rd, "addr_trtype", &r.trtype)?;
        write_attr(&rd, "addr_adrfam", &r.adrfam)?;
        write_attr(&rd, "addr_traddr", &r.traddr)?;
        write_attr(&rd, "addr_trsvcid", &r.trsvcid)?;
        write_attr(&rd, "addr_portid", &r.portid.to_string())?;
        write_attr(&rd, "enable", "1")
    }

    /// Disables and removes referral `name` of `port`.
    pub fn remove_referral(&self, port: u16, name: &str) -> io::Result<()> {
        let rd = self.port_dir(port).join("referrals").join(name);
        write_attr(&rd, "enable", "0")?;
        fs::remove_dir(rd)
    }

    /// Removes every port, referral, subsystem, namespace and host, and the backing files.
    pub fn clear(&self) -> io::Result<()> {
        for port in read_dir_names(&self.root.join("ports"))? {
            let id = port.parse().map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, format!("port {port:?}"))
            })?;
            self.remove_port(id)?;
        }
        for nqn in read_dir_names(&self.root.join("subsystems"))? {
            let sd = self.root.join("subsystems").join(&nqn);
            for ns in read_dir_names(&sd.join("namespaces"))? {
                let nd = sd.join("namespaces").join(ns);
                let _ = fs::write(nd.join("enable"), "0");
                fs::remove_dir(nd)?;
            }
            for h in read_dir_names(&sd.join("allowed_hosts"))? {
                fs::remove_file(sd.join("allowed_hosts").join(h))?;
            }
            fs::remove_dir(sd)?;
        }
        for h in read_dir_names(&self.root.join("hosts"))? {
            fs::remove_dir(self.root.join("hosts").join(h))?;
        }
        for f in read_dir_names(&self.backing_dir)? {
            if f.ends_with(".img") {
                let _ = fs::remove_file(self.backing_dir.join(f));
            }
        }
        Ok(())
    }
}

fn read_dir_names(dir: &Path) -> io::Result<Vec<String>> {
    match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}
