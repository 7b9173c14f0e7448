//! Configuration: the upstream INI dialect ([`ini`]), time spans ([`timespan`]), the
//! `controller=`/`exclude=` grammar ([`controller`]) and the typed per-daemon model
//! ([`options`]).

pub mod check;
pub mod conn_ini;
pub mod controller;
pub mod generation;
pub mod ini;
pub mod layout;
pub mod migrate;
pub mod options;
pub mod timespan;
pub mod toml_conf;
