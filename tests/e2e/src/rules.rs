//! Losing an S3 event on purpose: the stack routes the bucket's "Object Created" events
//! through an EventBridge rule on moto's default bus (tests/local-stack/setup.py makes it
//! from the template's S3 trigger event). Without its targets, moto drops the event, as
//! AWS would after its retries and the dead-letter queue.

use anyhow::{anyhow, ensure};
use aws_sdk_eventbridge::types::Target;

use crate::Stack;

/// The rule that routes the bucket's Object Created events, and its targets as they were.
pub struct UploadEventRule {
    eventbridge: aws_sdk_eventbridge::Client,
    pub name: String,
    targets: Vec<Target>,
}

impl UploadEventRule {
    /// Finds the rule on the default bus whose pattern matches S3's Object Created events
    /// (there must be exactly one) and remembers its targets.
    pub async fn find(stack: &Stack) -> anyhow::Result<UploadEventRule> {
        let eventbridge = aws_sdk_eventbridge::Client::new(&stack.sdk);
        let rules = eventbridge
            .list_rules()
            .send()
            .await
            .map_err(|e| anyhow!("ListRules on moto: {e:?}"))?;
        let matching: Vec<String> = rules
            .rules()
            .iter()
            .filter(|rule| {
                rule.event_pattern().is_some_and(|pattern| {
                    pattern.contains("Object Created") && pattern.contains(&stack.bucket)
                })
            })
            .filter_map(|rule| rule.name().map(str::to_owned))
            .collect();
        let [name] = matching.as_slice() else {
            anyhow::bail!(
                "expected one rule routing s3://{} Object Created events, found {matching:?}",
                stack.bucket
            );
        };
        let targets = eventbridge
            .list_targets_by_rule()
            .rule(name)
            .send()
            .await
            .map_err(|e| anyhow!("ListTargetsByRule {name} on moto: {e:?}"))?
            .targets
            .unwrap_or_default();
        ensure!(
            !targets.is_empty(),
            "the rule {name} has no target to remove"
        );
        Ok(UploadEventRule {
            eventbridge,
            name: name.clone(),
            targets,
        })
    }

    /// Removes the rule's targets: events it matches from now on go nowhere.
    pub async fn detach(&self) -> anyhow::Result<()> {
        let ids: Vec<String> = self.targets.iter().map(|t| t.id().to_owned()).collect();
        let answer = self
            .eventbridge
            .remove_targets()
            .rule(&self.name)
            .set_ids(Some(ids))
            .send()
            .await
            .map_err(|e| anyhow!("RemoveTargets {} on moto: {e:?}", self.name))?;
        ensure!(
            answer.failed_entry_count() == 0,
            "RemoveTargets {} failed: {:?}",
            self.name,
            answer.failed_entries()
        );
        Ok(())
    }

    /// Puts the targets back as they were.
    pub async fn reattach(&self) -> anyhow::Result<()> {
        let answer = self
            .eventbridge
            .put_targets()
            .rule(&self.name)
            .set_targets(Some(self.targets.clone()))
            .send()
            .await
            .map_err(|e| anyhow!("PutTargets {} on moto: {e:?}", self.name))?;
        ensure!(
            answer.failed_entry_count() == 0,
            "PutTargets {} failed: {:?}",
            self.name,
            answer.failed_entries()
        );
        let now = self
            .eventbridge
            .list_targets_by_rule()
            .rule(&self.name)
            .send()
            .await
            .map_err(|e| anyhow!("ListTargetsByRule {} on moto: {e:?}", self.name))?;
        ensure!(
            now.targets().len() == self.targets.len(),
            "the rule {} has {} targets after PutTargets, not {}",
            self.name,
            now.targets().len(),
            self.targets.len()
        );
        Ok(())
    }
}
