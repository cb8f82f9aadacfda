// Package deploymetrics exposes deploys to Prometheus, the way SREs watch
// them: how each rollout ended, how often rollbacks happen, how long the
// last one took, when the last success was, whether one is running now and
// which revision is deployed.
//
// # Metrics
//
// Every series carries exactly the labels app and env. Revisions are never
// labels, except on the one _info gauge, so a deploy never creates new
// series anywhere else.
//
//	# HELP deployctl_rollouts_total Rollouts finished, by outcome (done, rolled-back, rollback-failed, interrupted, failed).
//	# TYPE deployctl_rollouts_total counter
//	deployctl_rollouts_total{app,env,outcome}   one series per outcome, all five always present
//
//	# HELP deployctl_rollbacks_total Rollouts that returned changed hosts to the last good revision.
//	# TYPE deployctl_rollbacks_total counter
//	deployctl_rollbacks_total{app,env}
//
//	# HELP deployctl_hosts_changed_total Hosts switched to a new release by rollouts, including those later rolled back.
//	# TYPE deployctl_hosts_changed_total counter
//	deployctl_hosts_changed_total{app,env}
//
//	# HELP deployctl_last_hosts_changed Hosts switched to a new release by the last finished rollout.
//	# TYPE deployctl_last_hosts_changed gauge
//	deployctl_last_hosts_changed{app,env}
//
//	# HELP deployctl_last_duration_seconds Duration of the last finished rollout, whatever its outcome.
//	# TYPE deployctl_last_duration_seconds gauge
//	deployctl_last_duration_seconds{app,env}   once a rollout has finished
//
//	# HELP deployctl_last_success_timestamp_seconds Unix time at which the last successful (done) rollout finished.
//	# TYPE deployctl_last_success_timestamp_seconds gauge
//	deployctl_last_success_timestamp_seconds{app,env}   once a rollout has succeeded
//
//	# HELP deployctl_rollout_in_progress 1 while a rollout is running, 0 otherwise.
//	# TYPE deployctl_rollout_in_progress gauge
//	deployctl_rollout_in_progress{app,env}
//
//	# HELP deployctl_deployed_info The revision and config version the environment runs after the last finished rollout; always 1.
//	# TYPE deployctl_deployed_info gauge
//	deployctl_deployed_info{app,env,rev,config_version} 1   once a revision is known
//
// The outcomes are those of deploy.Outcome: done, rolled-back,
// rollback-failed, interrupted, failed. The HELP texts are constants, so
// node_exporter accepts the same families from several .prom files (one per
// app and environment).
//
// Typical queries: increase(deployctl_rollouts_total{outcome!="done"}[1d]),
// time() - deployctl_last_success_timestamp_seconds, and
// deployctl_rollout_in_progress == 1 for a deploy annotation.
//
// # Counters
//
// Counters holds the cumulative values. It is plain JSON: the caller keeps
// it in its state store and reads it back before each write, so that the
// counters never go backwards, even when the next rollout runs from another
// deploy host or after a restart. Counters.Start marks a rollout running;
// Counters.Finish records how it ended. Render turns Counters into the
// Prometheus text exposition format.
//
// # Output
//
// Write sends the rendered metrics where Config says, best effort for the
// caller (an error to log, never a failed rollout):
//
//   - metrics.textfile: a file for node_exporter's textfile collector,
//     replaced atomically (a temp file in the same directory, fsync, rename,
//     fsync of the directory), mode 0644. The name must end in .prom; it may
//     contain {app} and {env}, so that environments sharing a configuration
//     do not overwrite each other's file.
//   - metrics.pushgateway: an HTTP PUT of the same text to
//     <url>/metrics/job/<job>/app/<app>/env/<env>, which replaces that group
//     as a whole (a value with a slash is sent in the @base64 form), bounded
//     by pushgateway.timeout (default 5s) whatever the server does. Any
//     non-2xx answer is an error; errors name the URL without its
//     credentials.
package deploymetrics
