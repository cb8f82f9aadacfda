// Package release puts a rev's files on a host and switches to them,
// through nothing but a Runner (sh, coreutils and GNU tar on the host).
//
// The layout of one app on a host:
//
//	<deploy_dir>/<app>/revs/<rev>/          a release: the files of one rev
//	<deploy_dir>/<app>/revs/<rev>/.deployctl-rev       its marker: the rev
//	<deploy_dir>/<app>/revs/<rev>/.deployctl-manifest  what was staged
//	<deploy_dir>/<app>/revs/<rev>.partial/  a release being staged
//	<deploy_dir>/<app>/revs/<rev>.old/      a damaged copy being replaced
//	<deploy_dir>/<app>/current -> revs/<rev>  the live release
//
// Staging streams the rev's tar into revs/<rev>.partial, checks the
// extracted tree against the manifest of the stream (regular files, bytes,
// directories, symlinks), writes the manifest and then the marker, and
// only then renames the directory to revs/<rev>. So a revs/<rev> with a
// marker is always complete: a crash or a cancel leaves a .partial at
// most, which the next staging of that rev, or the next prune, removes. A
// release that is already there, with a marker naming its rev and a tree
// that matches its manifest, is not sent again.
//
// The marker holds the 40- (or 64-) hex rev on one line, nothing else, so
// `cat current/.deployctl-rev` tells an operator (or a script) what runs.
// The manifest holds key=value facts: counts, bytes, the tar stream's
// length and sha256, the staging time. A release with a marker and no
// manifest (as the example fleet lays out by hand) is accepted and trusted
// without a recount.
//
// Adoption: a fleet another tool deployed is taken as it is. A
// revs/<rev> named by a full rev and holding no marker is an adopted
// release (see Origin): a git checkout, as scap3 lays out, whose HEAD
// commit must be rev (read from .git/HEAD, its ref file or packed-refs,
// since a host may lack git; git itself only when those do not tell), or
// a plain, non-empty directory, as Ansible or a hand copy leaves. It reads
// as staged, so staging sends nothing, and deployctl never writes into it;
// it is activated and pruned like deployctl's own. A checkout at another
// commit than its name is ErrForeignRelease: never replaced, the operator
// moves it aside. deployctl needs current to be a symlink into revs/
// (relative or absolute); a real directory, or a link elsewhere, is
// ErrForeignCurrent, and a link to a missing release ErrDanglingCurrent,
// each saying how to move into the layout. No marker is written into an
// adopted release, not even by activation: a marker is the sign of
// deployctl's own complete staging (written in the .partial, before the
// rename), so a revs/<rev> without one was never a half-staging of ours.
//
// Activation points current at a release atomically: a symlink under a
// temporary name, then rename(2) over current (mv -T), so a reader of
// current never finds it missing. Prune keeps the newest releases by
// marker time, and never removes current or a protected (last good) rev.
//
// A host is changed by one deployctl at a time (the environment lock):
// staging and pruning the same app concurrently is not supported, since
// prune removes every .partial it finds.
package release
