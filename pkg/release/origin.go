package release

// Origin says who laid out a release. deployctl trusts its own releases by
// their marker; a release another tool made (scap3, Ansible, a hand copy)
// is adopted as it is, because its directory is named by a full rev under
// revs/. deployctl never writes into an adopted release, so adopting a
// fleet changes nothing on it until the first activation of a rev
// deployctl staged itself.
type Origin string

// Origins of a release.
const (
	// OriginDeployctl: staged by deployctl; its marker names the rev.
	OriginDeployctl Origin = ""
	// OriginGit: adopted git checkout (scap3's layout): no marker, a .git
	// whose HEAD commit is the rev the directory is named by.
	OriginGit Origin = "git"
	// OriginDir: adopted plain directory (Ansible, by hand): no marker, no
	// .git, not empty. Its name is all that says which rev it holds.
	OriginDir Origin = "dir"
)

// Adopted reports whether the release was laid out by another tool.
func (o Origin) Adopted() bool { return o != OriginDeployctl }

// String returns "deployctl", "git" or "dir", for logs and JSON.
func (o Origin) String() string {
	if o == OriginDeployctl {
		return "deployctl"
	}
	return string(o)
}

// Describe says what the release is, for status output.
func (o Origin) Describe() string {
	switch o {
	case OriginDeployctl:
		return "staged by deployctl"
	case OriginGit:
		return "adopted git checkout"
	case OriginDir:
		return "adopted plain dir"
	}
	return "release of unknown origin " + string(o)
}
