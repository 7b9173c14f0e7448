//! `nvme-sim`: runs a simulated discovery controller and one RAM-backed NVM subsystem on one
//! TCP address, for the README demo and manual testing. Stops on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use libnvme_rs::spec::disclog::subtype;
use nvme_sim::{
    DcType, NamespaceConfig, SimConfig, SimHandle, Simulator, SubsystemConfig, referral_entry,
    tcp_entry,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DcTypeArg {
    None,
    Ddc,
    Cdc,
}

/// Simulated NVMe/TCP target: a discovery controller plus one RAM-backed NVM subsystem.
#[derive(Debug, Parser)]
#[command(name = "nvme-sim", version)]
struct Args {
    /// Address to listen on (discovery and I/O share it).
    #[arg(long, default_value = "127.0.0.1:8009")]
    listen: SocketAddr,
    /// NQN of the NVM subsystem.
    #[arg(long, default_value = "nqn.2024-01.io.nvme-sim:disk1")]
    subnqn: String,
    /// Serve no NVM subsystem, only the discovery controller.
    #[arg(long)]
    no_subsystem: bool,
    /// Namespace size in MiB.
    #[arg(long, default_value_t = 64)]
    ns_size_mib: u64,
    /// Logical block size (512 or 4096).
    #[arg(long, default_value_t = 4096)]
    block_size: u32,
    /// DCTYPE reported by the discovery controller; ddc/cdc also accept DIM registrations.
    #[arg(long, value_enum, default_value = "none")]
    dctype: DcTypeArg,
    /// Unique discovery NQN (TP8013); the well-known NQN stays accepted.
    #[arg(long)]
    unique_nqn: Option<String>,
    /// Referral to another discovery controller (repeatable), e.g. 127.0.0.1:8010.
    #[arg(long)]
    referral: Vec<SocketAddr>,
    /// Extra made-up subsystem entries (for large log pages).
    #[arg(long, default_value_t = 0)]
    extra_entries: u32,
    /// MDTS (0 = no limit).
    #[arg(long, default_value_t = 0)]
    mdts: u8,
    /// MAXH2CDATA announced in ICResp.
    #[arg(long, default_value_t = 131072)]
    maxh2cdata: u32,
    /// In-capsule data bytes on I/O queues.
    #[arg(long, default_value_t = 16384)]
    inline_data_size: u32,
    /// Remove and re-add the subsystem's log entry every N seconds (AEN demo).
    #[arg(long)]
    toggle_every: Option<u64>,
    /// Drop discovery controllers connected with KATO 0 after N seconds (nvmet: 120).
    #[arg(long, default_value_t = 120)]
    kato_zero_timeout: u64,
}

fn config(args: &Args) -> Result<SimConfig, String> {
    let lbads = match args.block_size {
        512 => 9,
        4096 => 12,
        other => return Err(format!("unsupported block size {other}")),
    };
    let mut cfg = SimConfig {
        listen: args.listen,
        mdts: args.mdts,
        discovery_kato_zero_timeout: Some(Duration::from_secs(args.kato_zero_timeout)),
        ..SimConfig::default()
    };
    cfg.ic.maxh2cdata = args.maxh2cdata;
    cfg.discovery.dctype = match args.dctype {
        DcTypeArg::None => DcType::None,
        DcTypeArg::Ddc => DcType::Ddc,
        DcTypeArg::Cdc => DcType::Cdc,
    };
    cfg.discovery.unique_nqn = args.unique_nqn.clone();
    cfg.discovery.current_discovery_entry = args.unique_nqn.is_some();
    cfg.discovery.advertise_subsystems = !args.no_subsystem;
    cfg.discovery.log = args.referral.iter().map(|a| referral_entry(*a)).collect();
    for i in 0..args.extra_entries {
        let addr = SocketAddr::from(([192, 0, 2, (i % 250) as u8 + 1], 4420));
        let nqn = format!("nqn.2024-01.io.nvme-sim:extra{i}");
        cfg.discovery.log.push(tcp_entry(addr, subtype::NVME, &nqn));
    }
    if !args.no_subsystem {
        let mut sub = SubsystemConfig::new(args.subnqn.clone());
        sub.inline_data_size = args.inline_data_size;
        sub.namespaces = vec![NamespaceConfig {
            nsid: 1,
            blocks: (args.ns_size_mib << 20) >> lbads,
            lbads,
        }];
        cfg.subsystems.push(sub);
    }
    Ok(cfg)
}

fn print_counters(sim: &SimHandle) {
    let c = sim.counters();
    println!(
        "connections {} (active {}), keep-alives {}, AENs {}, log reads {}, DIM registrations {}",
        c.connections_accepted,
        c.connections_active,
        c.keep_alives,
        c.aens_sent,
        c.log_page_reads,
        sim.registrations().len()
    );
}

async fn run(args: Args) -> Result<(), String> {
    let cfg = config(&args)?;
    let sim = Simulator::start(cfg).await.map_err(|e| e.to_string())?;
    println!("nvme-sim listening on {}", sim.addr());
    println!("  discovery: nqn.2014-08.org.nvmexpress.discovery");
    if !args.no_subsystem {
        println!(
            "  subsystem: {} (nsid 1, {} MiB)",
            args.subnqn, args.ns_size_mib
        );
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    let period = Duration::from_secs(args.toggle_every.unwrap_or(3600).max(1));
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut present = true;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = ticker.tick(), if args.toggle_every.is_some() && !args.no_subsystem => {
                let entry = sim.subsystem_entry(&args.subnqn);
                let nqn = args.subnqn.clone();
                let r = sim.update_discovery_log(|entries| {
                    if present {
                        entries.retain(|e| e.subnqn != nqn);
                    } else {
                        entries.push(entry);
                    }
                });
                if let Err(e) = r {
                    eprintln!("nvme-sim: {e}");
                }
                present = !present;
                println!(
                    "log changed (genctr {}): subsystem {}",
                    sim.discovery_log().genctr,
                    if present { "added" } else { "removed" }
                );
                print_counters(&sim);
            }
        }
    }
    print_counters(&sim);
    sim.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nvme-sim: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nvme-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
