//! Who is calling: the AWS principal an operator's credentials belong to (STS
//! `GetCallerIdentity`, which needs no permission), named in the pauses and resumes the
//! `reflex` command line records.

use aws_sdk_sts::Client;
use reflex_core::ledger::LedgerError;

use crate::config::Aws;
use crate::error::classify;

/// The ARN of the caller whose credentials `aws` holds.
pub async fn caller_arn(aws: &Aws) -> Result<String, LedgerError> {
    let out = Client::new(aws.sdk_config())
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| LedgerError::from(classify("sts:GetCallerIdentity", e)))?;
    out.arn
        .ok_or_else(|| LedgerError::Refused("sts:GetCallerIdentity returned no ARN".into()))
}
