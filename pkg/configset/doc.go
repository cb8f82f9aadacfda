// Package configset renders an app's configuration templates for one host,
// names the result by its content (a config version), puts it on the host
// and links it into place, through nothing but a Runner (sh, coreutils and
// GNU tar on the host).
//
// # Rendering
//
// Templates are Go text/template files read from the source repository at
// the rev (the Spec's templates directory). Each file listed in the Spec is
// parsed on its own, with missingkey=error, and executed with the host's
// variables as its data: a map[string]string the caller layers
// (environment < group < host, plus deployctl's own names such as host and
// rev). So {{ .dc }} is the variable dc, and a name that is not an
// identifier is written {{ index . "some-var" }}. Both fail when the
// variable is not set; in these templates index is strict (unlike the
// builtin, which returns "" for a missing key). The functions added are:
//
//	index . "name"     the variable name; an error when it is not set
//	optional "name"    the variable name, or "" when it is not set;
//	                   a default is {{ or (optional "name") "fallback" }}
//	quote VALUE        VALUE as a double-quoted JSON string, which is also
//	                   a valid YAML double-quoted scalar
//
// A template error (a missing variable, bad syntax, a template listed in
// the Spec but absent from the repository) is a *TemplateError naming the
// template file and line, wrapping ErrTemplate. Render reports one per
// file, all files at once.
//
// # Config versions
//
// The rendered files of one host form a Set. Its Version is the first 16
// hex digits (64 bits) of the sha256 of its manifest: one line per file,
// sorted by name, holding the file's mode, the sha256 of its content, its
// name and the host path it is linked to. Equal inputs give equal versions
// on every machine; any change to a name, path, mode or byte of content
// gives another.
//
// # Layout on a host
//
//	<base>/configs/<version>/<name>          a rendered file (base is <deploy_dir>/<app>)
//	<base>/configs/<version>/.deployctl-config  the manifest; its hash is the version
//	<base>/configs/<version>.partial/        a version being shipped
//	<base>/configs/<version>.old/            a damaged copy being replaced
//	<base>/configs/current -> <version>      the version last linked completely
//	<path> -> <base>/configs/<version>/<name>  each file's link, where the app reads it
//
// Ship streams a tar of the Set into <version>.partial, checks every file's
// mode and sha256 there, and only then renames it to <version>, so a
// version directory is complete or absent; an intact one is not sent again.
// Link points each file's path at the version (a symlink under a temporary
// name in the same directory, then rename(2) over the path with mv -T, so
// a reader never finds the path missing), removes the links of the
// previous version that the new one no longer has, and moves current last.
// LinkVersion does the same from the manifest on the host, which is how a
// rollback restores an older version without rendering or sending anything.
// A regular file already at a path (a hand-made config) is replaced by the
// link: Live and Diff show what will change before it does. Prune keeps
// the versions shipped or linked most recently, current, and any the
// caller protects (last good).
//
// The files belong to the user deployctl logs in as; Mode is the only
// permission control. Each path switches atomically, but a Set of several
// files switches one path at a time, which is why the deploy pipeline
// links while the host is stopped or depooled.
//
// A host is changed by one deployctl at a time (the environment lock):
// shipping and pruning the same app concurrently is not supported, since
// prune removes every .partial it finds.
package configset
