// Package notify tells people and tools what a deploy did, as SREs watched
// scap's Server Admin Log lines in chat: one Event (start, finish, failure,
// rollback, abort) sent to every configured target that wants its kind.
//
// The contract:
//
//   - Best effort. A notification never decides a rollout. Send returns
//     the failures for the caller to report and nothing else happens: no
//     panic, no retry after Send returns. A nil *Notifier, or one built from
//     an empty Config, sends nothing.
//   - Bounded. Every target runs in parallel under its own timeout
//     (default DefaultTimeout), which covers all of a webhook's attempts
//     (1+retries, default DefaultRetries, on connection errors, 429 and
//     5xx but 501) and a command's whole run: a command past it is killed
//     with its process group. Send returns within the largest timeout of
//     the targets it sends to plus a small margin, whatever a server or a
//     command does; a target still running then is reported and abandoned.
//   - Secrets never shown. A webhook's secret is read once, by New, from
//     secret_file (the first line) and sent only as the value of
//     secret_header (default Authorization). It appears in no error, log
//     line or String of anything here, even when a server echoes it back;
//     URLs in errors and logs lose their user info and query string, and
//     redirects are not followed (a 3xx is an error), so the secret never
//     goes to another host.
//
// A webhook is a POST of the Event as JSON (Content-Type application/json);
// any 2xx is success, anything else an error naming the target and the
// status. A command is an argv run directly on this machine (no shell),
// with the event as JSON on stdin and its facts in DEPLOYCTL_* environment
// variables (see Event); a non-zero exit is an error naming the command,
// with the tail of its stderr.
//
// Config is the "notify:" section of deployctl.yaml:
//
//	notify:
//	  webhooks:
//	    - name: chat
//	      url: https://chat.example.org/hooks/deploys
//	      headers: {X-Channel: "#operations"}
//	      secret_file: /etc/deployctl/chat.token   # sent as Authorization
//	      timeout: 5s
//	      retries: 2
//	      on: [finish, failure, rollback, abort]     # empty: every kind
//	  commands:
//	    - {name: sal, argv: [/usr/local/bin/dologmsg], timeout: 5s}
package notify
