//! The text the kernel returns after a connect (`instance=N,cntlid=M`).

/// The result of a successful connect: `instance=N,cntlid=M\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectResponse {
    /// Controller instance: the device is `nvme<instance>`.
    pub instance: u32,
    /// Controller ID, if reported and parsable (upstream ignores it).
    pub cntlid: Option<u16>,
}

/// The connect response held no parsable `instance=` token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no instance in /dev/nvme-fabrics response {0:?}")]
pub struct ResponseError(pub String);

/// Parses the text read back after a connect. Tokens are split on `,` and `\n`; the first
/// `instance=<decimal>` wins.
pub fn parse_connect_response(text: &str) -> Result<ConnectResponse, ResponseError> {
    let mut instance = None;
    let mut cntlid = None;
    for tok in text.split([',', '\n']).map(str::trim) {
        if let Some(v) = tok.strip_prefix("instance=") {
            if instance.is_none() {
                instance = v.parse::<u32>().ok();
            }
        } else if let Some(v) = tok.strip_prefix("cntlid=") {
            cntlid = cntlid.or_else(|| v.parse::<u16>().ok());
        }
    }
    match instance {
        Some(instance) => Ok(ConnectResponse { instance, cntlid }),
        None => Err(ResponseError(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_response() {
        assert_eq!(
            parse_connect_response("instance=5,cntlid=1\n"),
            Ok(ConnectResponse {
                instance: 5,
                cntlid: Some(1)
            })
        );
        assert_eq!(
            parse_connect_response("cntlid=7\ninstance=12"),
            Ok(ConnectResponse {
                instance: 12,
                cntlid: Some(7)
            })
        );
        assert_eq!(
            parse_connect_response("instance=0"),
            Ok(ConnectResponse {
                instance: 0,
                cntlid: None
            })
        );
        assert_eq!(
            parse_connect_response("instance=3,cntlid=70000\n"),
            Ok(ConnectResponse {
                instance: 3,
                cntlid: None
            })
        );
        for bad in [
            "",
            "\n",
            "cntlid=1",
            "instance=-1,cntlid=-1",
            "instance=x",
            "instance=",
            "instances=1",
        ] {
            assert_eq!(
                parse_connect_response(bad),
                Err(ResponseError(bad.into())),
                "{bad:?}"
            );
        }
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn response_parse_never_panics(s in "\\PC{0,64}") {
                let _ = parse_connect_response(&s);
            }
        }
    }
}
