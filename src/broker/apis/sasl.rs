//! SaslHandshake and SaslAuthenticate as table entries: they are advertised in ApiVersions
//! (clients look for them there), and on SASL listeners `network::auth` answers them
//! before a request reaches dispatch. A request that does reach these handlers came on a
//! listener without SASL, or after authentication completed: Kafka answers
//! ILLEGAL_SASL_STATE then, and so does rk.

use super::{Ctx, code, sb};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;

pub async fn sasl_handshake(_ctx: &Ctx<'_>, _req: SaslHandshakeRequest) -> SaslHandshakeResponse {
    SaslHandshakeResponse::default().with_error_code(code(E::IllegalSaslState))
}

pub async fn sasl_authenticate(ctx: &Ctx<'_>, _req: SaslAuthenticateRequest) -> SaslAuthenticateResponse {
    let msg = if ctx.conn.security_protocol.starts_with("SASL") {
        "SaslAuthenticate request received after successful authentication"
    } else {
        "Unexpected SASL request: the listener does not use SASL"
    };
    SaslAuthenticateResponse::default().with_error_code(code(E::IllegalSaslState)).with_error_message(Some(sb(msg)))
}
