//! Validation of a [`RawConfig`] into a [`ServiceConfig`] (see the parent module's docs).

use std::collections::BTreeSet;

use libnvme_rs::trid::Transport;

use super::raw::single_value;
use super::value::{self, Checked, FirstStage};
use super::{
    CONTROLLERS, DC_MANAGEMENT, Daemon, DaemonOptions, Diagnostic, GLOBAL, GlobalOptions,
    IOC_MANAGEMENT, Level, RawConfig, RawKind, SERVICE_DISCOVERY, ServiceConfig, Setting, Source,
    StacdOptions, StafdOptions, py_set_repr,
};
use crate::conf::controller::{ControllerEntry, Exclusion, ItemContext};

/// Validates `raw` for `daemon`; diagnostics sorted by line (stable).
pub(super) fn build(daemon: Daemon, raw: &RawConfig) -> (ServiceConfig, Vec<Diagnostic>) {
    let mut b = Builder {
        raw,
        diags: Vec::new(),
    };
    // 2.x reads some invalid options all the same (§1.2): the unfiltered file is used.
    b.check_structure(&Rules {
        valid: &|section| daemon.valid_options(section),
        alias: &|section, option| deprecated_alias(daemon, section, option),
        option_hint: &|section, option| removed_option_hint(daemon, section, option),
        section_hint: &|_| None,
    });
    let mut cfg = ServiceConfig::defaults(daemon, &raw.file);
    b.global(daemon, &mut cfg.global);
    match &mut cfg.options {
        DaemonOptions::Stafd(o) => b.stafd(o),
        DaemonOptions::Stacd(o) => b.stacd(o),
    }
    b.controllers(daemon, &mut cfg);
    let mut diags = b.diags;
    diags.sort_by_key(|d| d.line);
    (cfg, diags)
}

/// Validates `raw` as a 3.x daemon file: 3.x's sections and keys only; a 2.x key is an
/// error that says where 3.x moved it (nothing is aliased, as upstream).
pub(super) fn build_v3(daemon: Daemon, raw: &RawConfig) -> (ServiceConfig, Vec<Diagnostic>) {
    let mut check = Builder {
        raw,
        diags: Vec::new(),
    };
    let kept = check.check_structure(&Rules {
        valid: &|section| daemon.valid_options_v3(section),
        alias: &|_, _| None,
        option_hint: &|_, option| moved_in_v3(option),
        section_hint: &|section| {
            (section == CONTROLLERS).then_some(
                "removed in nvme-stas 3.0: controllers are defined in nvme-stas.conf; these \
                 entries are ignored",
            )
        },
    });
    let diags = check.diags;
    let mut b = Builder { raw: &kept, diags };
    let mut cfg = ServiceConfig::defaults(daemon, &raw.file);
    cfg.generation = crate::conf::generation::Generation::V3;
    // Only 3.x's [Global] keys are left in `kept`; the others keep their defaults.
    b.global(daemon, &mut cfg.global);
    match &mut cfg.options {
        DaemonOptions::Stafd(o) => b.stafd_v3(o),
        DaemonOptions::Stacd(o) => b.stacd_v3(o),
    }
    let mut diags = b.diags;
    diags.sort_by_key(|d| d.line);
    (cfg, diags)
}

/// Which sections and options a daemon file may have, and what to say about the others.
struct Rules<'a> {
    /// The valid options of a section; `None`: the section is invalid.
    valid: &'a dyn Fn(&str) -> Option<&'static [&'static str]>,
    /// A deprecated alias accepted with this warning (section, option).
    alias: &'a dyn Fn(&str, &str) -> Option<&'static str>,
    /// Appended to the error about an invalid option (section, option).
    option_hint: &'a dyn Fn(&str, &str) -> Option<&'static str>,
    /// Appended to the error about an invalid section.
    section_hint: &'a dyn Fn(&str) -> Option<&'static str>,
}

/// Where nvme-stas 3.0 moved a 2.x key (spec 3.x §3), for the error about it.
fn moved_in_v3(option: &str) -> Option<&'static str> {
    Some(match option {
        "kato" => "moved to nvme-stas.conf as keep-alive-tmo",
        "hdr-digest" | "data-digest" | "queue-size" | "reconnect-delay" | "ctrl-loss-tmo"
        | "disable-sqflow" | "nr-io-queues" | "nr-write-queues" | "nr-poll-queues" => {
            "moved to nvme-stas.conf"
        }
        "persistent-connections" => "removed in nvme-stas 3.0: use persistent= in nvme-stas.conf",
        "zeroconf-connections-persistence" => {
            "renamed dc-giveup-timeout in nvme-stas 3.0 (a systemd time span)"
        }
        "disconnect-scope" | "disconnect-trtypes" => {
            "replaced by honor-fabric-zoning in nvme-stas 3.0"
        }
        _ => return None,
    })
}

/// Hints appended to the ERROR of options removed before HEAD (§1.9).
fn removed_option_hint(daemon: Daemon, section: &str, option: &str) -> Option<&'static str> {
    match (daemon, section, option) {
        (Daemon::Stacd, GLOBAL, "udev-rule") => Some("removed in nvme-stas 2.1.3"),
        (Daemon::Stacd, GLOBAL, "sticky-connections") => Some(
            "replaced in nvme-stas 2.0 by [I/O controller connection management] \
             disconnect-scope and disconnect-trtypes",
        ),
        (_, _, "duplicate-connect") => Some("removed in nvme-stas 2.2"),
        _ => None,
    }
}

/// Whether `option` in `section` is a deprecated alias accepted with a warning.
fn deprecated_alias(daemon: Daemon, section: &str, option: &str) -> Option<&'static str> {
    match (daemon, section, option) {
        (_, CONTROLLERS, "blacklist") => Some(
            "deprecated alias of \"exclude\" (removed in nvme-stas 3.0); accepted, \
             please use \"exclude\"",
        ),
        (Daemon::Stafd, GLOBAL, "persistent-connections") => Some(
            "deprecated location (removed in nvme-stas 3.0); accepted, please move it to \
             [Discovery controller connection management]",
        ),
        _ => None,
    }
}

struct Builder<'a> {
    raw: &'a RawConfig,
    diags: Vec<Diagnostic>,
}

impl Builder<'_> {
    fn push(&mut self, level: Level, line: Option<usize>, message: String) {
        self.diags.push(Diagnostic {
            level,
            file: self.raw.file.clone(),
            line,
            message,
        });
    }

    fn file(&self) -> String {
        self.raw.file.display().to_string()
    }

    /// Invalid sections and options (one ERROR per item, with upstream's text), by `rules`;
    /// returns the file without them (valid and aliased options only).
    fn check_structure(&mut self, rules: &Rules<'_>) -> RawConfig {
        let raw = self.raw;
        let file = self.file();
        let mut kept = RawConfig {
            file: raw.file.clone(),
            sections: Vec::new(),
        };
        for section in &raw.sections {
            let Some(valid) = (rules.valid)(&section.name) else {
                let hint = (rules.section_hint)(&section.name)
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                self.push(
                    Level::Error,
                    section.line,
                    format!(
                        "File:{file} contains invalid sections: {}{hint}",
                        py_set_repr([section.name.as_str()])
                    ),
                );
                continue;
            };
            let mut keep = section.clone();
            keep.options.clear();
            for option in &section.options {
                if valid.contains(&option.key.as_str()) {
                    keep.options.push(option.clone());
                    continue;
                }
                let line = option.values.first().and_then(|v| v.line);
                if let Some(note) = (rules.alias)(&section.name, &option.key) {
                    self.push(
                        Level::Warning,
                        line,
                        format!("File:{file} [{}]: {} - {note}", section.name, option.key),
                    );
                    keep.options.push(option.clone());
                    continue;
                }
                let hint = (rules.option_hint)(&section.name, &option.key)
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                self.push(
                    Level::Error,
                    line,
                    format!(
                        "File:{file} [{}] contains invalid options: {}{hint}",
                        section.name,
                        py_set_repr([option.key.as_str()])
                    ),
                );
            }
            kept.sections.push(keep);
        }
        kept
    }

    /// One single-valued option: absent → `default`; valid → its value; invalid → WARNING
    /// and `default`.
    fn single<T: Clone>(
        &mut self,
        section: &str,
        option: &str,
        default: &Setting<T>,
        first: FirstStage,
        check: impl Fn(&str) -> Checked<T>,
    ) -> Setting<T> {
        let raw = self.raw;
        let Some(sv) = single_value(raw.get_all(section, option)) else {
            return default.clone();
        };
        let failure = match sv.text.map(&check) {
            Some(Ok(value)) => {
                return Setting {
                    value,
                    source: Source::File(sv.line),
                };
            }
            Some(Err(f)) => f,
            None => first.failure(),
        };
        let message = format!(
            "File:{} [{section}]: {option} - {}. Default will be used",
            self.file(),
            failure.describe(&sv.shown())
        );
        self.push(Level::Warning, sv.line, message);
        Setting {
            value: default.value.clone(),
            source: Source::InvalidDefault(sv.line),
        }
    }

    fn global(&mut self, daemon: Daemon, g: &mut GlobalOptions) {
        use FirstStage::{Converter, Text};
        use value::*;
        let int = |t: &str| check_int(t).map(Some);
        g.tron = self.single(GLOBAL, "tron", &g.tron, Text, check_bool);
        g.hdr_digest = self.single(GLOBAL, "hdr-digest", &g.hdr_digest, Text, check_bool);
        g.data_digest = self.single(GLOBAL, "data-digest", &g.data_digest, Text, check_bool);
        g.kato = self.single(GLOBAL, "kato", &g.kato, Converter, int);
        g.queue_size = self.single(GLOBAL, "queue-size", &g.queue_size, Converter, |t| {
            check_queue_size(t).map(Some)
        });
        g.reconnect_delay = self.single(
            GLOBAL,
            "reconnect-delay",
            &g.reconnect_delay,
            Converter,
            int,
        );
        g.ctrl_loss_tmo = self.single(GLOBAL, "ctrl-loss-tmo", &g.ctrl_loss_tmo, Converter, int);
        g.disable_sqflow = self.single(GLOBAL, "disable-sqflow", &g.disable_sqflow, Text, |t| {
            check_bool(t).map(Some)
        });
        // Invalid in stafd.conf but still read and used by stafd (§1.2).
        g.nr_io_queues = self.single(GLOBAL, "nr-io-queues", &g.nr_io_queues, Converter, int);
        g.nr_write_queues = self.single(
            GLOBAL,
            "nr-write-queues",
            &g.nr_write_queues,
            Converter,
            int,
        );
        g.nr_poll_queues = self.single(GLOBAL, "nr-poll-queues", &g.nr_poll_queues, Converter, int);
        g.ignore_iface = self.single(GLOBAL, "ignore-iface", &g.ignore_iface, Text, check_bool);
        g.ip_family = self.single(GLOBAL, "ip-family", &g.ip_family, Text, check_ip_family);
        if daemon == Daemon::Stafd {
            g.pleo = self.single(GLOBAL, "pleo", &g.pleo, Text, check_enabled);
        }
        g.backend = self.single(GLOBAL, "backend", &g.backend, Text, check_backend);
    }

    /// `[Service Discovery] zeroconf`, the same in both generations.
    fn zeroconf(&mut self, o: &mut StafdOptions) {
        o.zeroconf = self.single(
            SERVICE_DISCOVERY,
            "zeroconf",
            &o.zeroconf,
            FirstStage::Text,
            value::check_enabled,
        );
    }

    fn stafd(&mut self, o: &mut StafdOptions) {
        use value::*;
        self.zeroconf(o);
        let new = self.single(
            DC_MANAGEMENT,
            "persistent-connections",
            &o.persistent_connections,
            FirstStage::Text,
            check_bool,
        );
        // v2.4.1 legacy location: explicit values are OR-ed (legacy default false).
        let legacy = self.single(
            GLOBAL,
            "persistent-connections",
            &Setting::default_value(false),
            FirstStage::Text,
            check_bool,
        );
        o.persistent_connections = match (new.source, legacy.source) {
            (Source::File(_), Source::File(_)) => Setting {
                value: new.value || legacy.value,
                source: if new.value || !legacy.value {
                    new.source
                } else {
                    legacy.source
                },
            },
            (_, Source::File(_)) => legacy,
            _ => new,
        };
        o.zeroconf_connections_persistence = self.single(
            DC_MANAGEMENT,
            "zeroconf-connections-persistence",
            &o.zeroconf_connections_persistence,
            FirstStage::Converter,
            check_timespan,
        );
    }

    fn stafd_v3(&mut self, o: &mut StafdOptions) {
        use value::*;
        self.zeroconf(o);
        o.zeroconf_connections_persistence = self.single(
            DC_MANAGEMENT,
            "dc-giveup-timeout",
            &o.zeroconf_connections_persistence,
            FirstStage::Converter,
            check_systemd_timespan,
        );
        o.epcsd_poll_minutes = self.single(
            DC_MANAGEMENT,
            "epcsd-poll-interval-minutes",
            &o.epcsd_poll_minutes,
            FirstStage::Converter,
            check_epcsd_poll,
        );
    }

    fn stacd_v3(&mut self, o: &mut StacdOptions) {
        use super::DisconnectScope;
        use value::*;
        let zoning = self.single(
            IOC_MANAGEMENT,
            "honor-fabric-zoning",
            &Setting::default_value(true),
            FirstStage::Text,
            check_yes_no,
        );
        // yes = only-stas-connections, no = no-disconnect (spec 3.x §3).
        o.disconnect_scope = Setting {
            value: if zoning.value {
                DisconnectScope::OnlyStasConnections
            } else {
                DisconnectScope::NoDisconnect
            },
            source: zoning.source,
        };
        o.connect_attempts_on_ncc = self.single(
            IOC_MANAGEMENT,
            "connect-attempts-on-ncc",
            &o.connect_attempts_on_ncc,
            FirstStage::Converter,
            check_ncc,
        );
    }

    fn stacd(&mut self, o: &mut StacdOptions) {
        use value::*;
        o.disconnect_scope = self.single(
            IOC_MANAGEMENT,
            "disconnect-scope",
            &o.disconnect_scope,
            FirstStage::Text,
            check_disconnect_scope,
        );
        o.disconnect_trtypes = self.trtypes(&o.disconnect_trtypes);
        o.connect_attempts_on_ncc = self.single(
            IOC_MANAGEMENT,
            "connect-attempts-on-ncc",
            &o.connect_attempts_on_ncc,
            FirstStage::Converter,
            check_ncc,
        );
    }

    /// `disconnect-trtypes`: per-item list check, default when nothing valid remains.
    fn trtypes(&mut self, default: &Setting<BTreeSet<Transport>>) -> Setting<BTreeSet<Transport>> {
        let option = "disconnect-trtypes";
        let raw = self.raw;
        let Some(sv) = single_value(raw.get_all(IOC_MANAGEMENT, option)) else {
            return default.clone();
        };
        let file = self.file();
        let Some(text) = sv.text else {
            self.push(
                Level::Warning,
                sv.line,
                format!(
                    "File:{file} [{IOC_MANAGEMENT}]: {option} - {}. Default will be used",
                    value::Failure::Converter.describe("None")
                ),
            );
            return Setting {
                value: default.value.clone(),
                source: Source::InvalidDefault(sv.line),
            };
        };
        let (valid, invalid) = value::check_trtypes(text);
        for item in invalid {
            self.push(
                Level::Warning,
                sv.line,
                format!(
                    "File:{file} [{IOC_MANAGEMENT}]: {option} - List checker found invalid item \
                     \"{item}\" will be ignored."
                ),
            );
        }
        if valid.is_empty() {
            Setting {
                value: default.value.clone(),
                source: Source::InvalidDefault(sv.line),
            }
        } else {
            Setting {
                value: valid,
                source: Source::File(sv.line),
            }
        }
    }

    /// `controller=`, `exclude=` and the deprecated `blacklist=`.
    fn controllers(&mut self, daemon: Daemon, cfg: &mut ServiceConfig) {
        let raw = self.raw;
        for option in ["controller", "exclude", "blacklist"] {
            for occurrence in raw.get_all(CONTROLLERS, option) {
                let ctx = ItemContext {
                    daemon,
                    file: &raw.file,
                    line: occurrence.line,
                    option,
                };
                let is_controller = option == "controller";
                match &occurrence.kind {
                    RawKind::Bare => self.push(
                        Level::Warning,
                        occurrence.line,
                        format!(
                            "File:{} [{CONTROLLERS}]: {option} - No value given: ignored",
                            self.file()
                        ),
                    ),
                    RawKind::Text(text) => {
                        // Continuation lines are separate entries (configparser + multiset).
                        // Empty continuation items are blank lines after the key, not
                        // something the user wrote: skipped silently (upstream turns them
                        // into empty entries, an empty exclusion excluding everything).
                        for (i, item) in text.split('\n').enumerate() {
                            if i > 0 && item.trim().is_empty() {
                                continue;
                            }
                            if is_controller {
                                let (entry, d) = ControllerEntry::parse(&ctx, item);
                                self.diags.extend(d);
                                cfg.controllers.extend(entry);
                            } else {
                                let (ex, d) = Exclusion::parse(&ctx, item);
                                self.diags.extend(d);
                                cfg.exclusions.extend(ex);
                            }
                        }
                    }
                    RawKind::Pairs(pairs) => {
                        let pairs = pairs.iter().cloned();
                        if is_controller {
                            let (entry, d) = ControllerEntry::from_pairs(&ctx, pairs);
                            self.diags.extend(d);
                            cfg.controllers.extend(entry);
                        } else {
                            let (ex, d) = Exclusion::from_pairs(&ctx, pairs);
                            self.diags.extend(d);
                            cfg.exclusions.extend(ex);
                        }
                    }
                }
            }
        }
        // Exclusions keep file order across `exclude` and `blacklist`.
        cfg.exclusions.sort_by_key(|e| e.line);
    }
}
