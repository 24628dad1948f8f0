import type { StepHookContext } from "@stackyard/core";

/**
 * An `onFailure` hook: posts the failed step to the webhook URL in
 * `STACKYARD_ALERT_WEBHOOK` (a Slack or Teams incoming webhook, or any URL
 * taking JSON), or only logs when it is not set. It runs in the step's
 * process, so on Docker and Step Functions the variable must reach the
 * step's container (the orchestrator's `environment`, or
 * `secret_environment` when the URL holds a token).
 */
export async function postToWebhook(ctx: StepHookContext): Promise<void> {
  const text = `Step ${ctx.stepId} of run ${ctx.runId} failed after ${ctx.attempt} attempt(s): ${ctx.error ?? "unknown error"}`;
  const url = process.env.STACKYARD_ALERT_WEBHOOK;
  if (!url) {
    ctx.log(`${text} (set STACKYARD_ALERT_WEBHOOK to post this)`);
    return;
  }
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text, run: ctx.runId, step: ctx.stepId, error: ctx.error }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`the webhook answered ${response.status} ${response.statusText}`);
  ctx.log(`posted the failure to the alert webhook (${response.status})`);
}
