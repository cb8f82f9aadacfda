// Package gitsrc reads the source repository of a deploy with go-git: it
// resolves what the user typed (a ref) to the full commit hash (a rev), and
// writes the tree of a rev as a tar stream for the hosts. Nothing here runs
// the git binary; the deploy host needs no git installed (a file:// URL is
// the exception: go-git runs git-upload-pack to read it).
//
// # Sources
//
// A source is either a local path or a URL. A local path (a work tree or a
// bare repository) is read in place and never written to. A URL (https://,
// ssh://, git://, file://, or scp-like git@host:path) is fetched into a bare
// cache repository under the cache directory, named after the URL's last
// path element and a hash of the URL without its credentials. The cache
// mirrors the remote's branches into refs/heads/ and its tags into refs/tags/
// (deleted ones are pruned), and its HEAD follows the remote's default
// branch. Other remote refs, such as Gerrit's refs/changes/, are not fetched.
// Credentials in a URL are used but never written to the cache's config nor
// shown in errors. SSH URLs use go-git's defaults: the SSH agent for keys
// and ~/.ssh/known_hosts (or $SSH_KNOWN_HOSTS) to verify the server.
//
// Every fetch is bounded by its context and by FetchTimeout, whichever ends
// first. Opening an SSH session (connect, handshake, authentication) is
// bounded by DialTimeout as well, since go-git opens it without a context. A first clone is made in a temporary directory and renamed into
// place, so an interrupted clone leaves no half-filled cache behind.
//
// # Resolving refs
//
// Resolve accepts a full or short commit hash (at least MinShortHash hex
// digits), a tag (lightweight or annotated, peeled to its commit), a branch,
// a remote-tracking branch such as origin/main, HEAD, or a full ref name
// such as refs/tags/v1.2. A name is looked up the way git rev-parse does
// (refs/<name>, refs/tags/<name>, refs/heads/<name>, refs/remotes/<name>,
// refs/remotes/<name>/HEAD) and, when it is hexadecimal, also as a commit
// hash prefix. A short hash names a commit only; trees, blobs and tag
// objects are not candidates.
//
// Unlike git, which prefers a tag over a branch of the same name and a ref
// over a hash, Resolve refuses every ref that matches more than one thing,
// even when the matches agree today, and lists the candidates: a deploy must
// never guess what the operator meant, and a branch may move tomorrow. The
// operator disambiguates with a full ref name (refs/tags/v1, heads/v1) or a
// longer hash. Revision expressions (HEAD~1, v1^{commit}, main@{1}) are not
// supported.
//
// # Archives
//
// Archive writes a rev's tree as a tar stream in git's tree order: a
// directory entry (0755) before its contents, regular files as 0644 or 0755,
// symlinks as symlinks (the blob is the target), every header time set to
// the commit time and every owner to 0, so one rev always gives the same
// bytes. Git stores no empty directories, so there are none in the archive.
// Submodules (gitlinks) are an error naming their path, since their content
// is not in the repository. A receiving tar running as root should use
// --no-same-owner so the files belong to the deploy user.
//
// A Source is safe for concurrent use: every call opens its own go-git
// repository handle (go-git's are not safe to share), and Fetch waits for
// calls in progress to finish before it changes the cache.
package gitsrc
