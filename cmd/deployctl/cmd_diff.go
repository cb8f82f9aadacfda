package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/pkg/configset"
	"github.com/deployctl/deployctl/pkg/sshx"
)

func newDiffCommand(g *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "diff [<ref>]",
		Short: "Show the configuration each host would get against what is live, changing nothing",
		Long: `Render the config templates of <ref> (default: the last good rev's) for every
host and print a unified diff against the files live on the host. Changes
nothing. A template error names the template file and line.`,
		Args: usageArgs(cobra.RangeArgs(0, 1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := ""
			if len(args) == 1 {
				ref = args[0]
			}
			return runDiff(cmd.Context(), g, ref)
		},
	}
}

type hostDiff struct {
	Host    string   `json:"host"`
	Version string   `json:"version"`
	Live    string   `json:"live_version"`
	Diffs   []string `json:"diffs,omitempty"`
	Error   string   `json:"error,omitempty"`
}

func runDiff(ctx context.Context, g *GlobalOptions, ref string) error {
	a, err := openApp(ctx, g, true)
	if err != nil {
		return err
	}
	if !a.env.Files.Enabled() {
		return usageErrorf("%s deploys no config files (add a config: section)", a.env.Name)
	}
	st, err := a.store.Load(a.env.Name)
	if err != nil {
		return err
	}
	rev, templateRev := st.LastGood.Rev, st.LastGood.TemplateRev
	if templateRev == "" {
		templateRev = rev
	}
	if ref != "" {
		if templateRev, err = a.src.Resolve(ctx, ref); err != nil {
			return err
		}
		if rev == "" {
			rev = templateRev
		}
	}
	if templateRev == "" {
		return usageErrorf("no last good rev recorded for %s: name a <ref> to render", a.env.Name)
	}
	sets, err := deploy.RenderConfigs(ctx, a.env, a.src, templateRev, rev)
	if err != nil {
		return err
	}
	if err := a.connect(); err != nil {
		return err
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	conn := &deploy.SSHHosts{Env: a.env, Pool: a.ssh}
	out := make([]hostDiff, len(a.env.Hosts))
	sshx.Each(ctx, a.env.SSH.Parallel, len(a.env.Hosts), func(ctx context.Context, i int) error {
		h := a.env.Hosts[i].Name
		out[i] = diffHost(ctx, conn, a.env.AppDir(), h, sets[h])
		return nil
	})
	if g.Output == outputJSON {
		return json.NewEncoder(g.stdout).Encode(out)
	}
	changed := 0
	for _, d := range out {
		switch {
		case d.Error != "":
			fmt.Fprintf(g.stdout, "# %s: %s\n", d.Host, d.Error)
		case len(d.Diffs) == 0:
			fmt.Fprintf(g.stdout, "# %s: config %s is live, no change\n", d.Host, d.Version)
		default:
			changed++
			fmt.Fprintf(g.stdout, "# %s: config %s -> %s\n", d.Host, orNone(d.Live), d.Version)
			for _, diff := range d.Diffs {
				fmt.Fprint(g.stdout, diff)
			}
		}
	}
	fmt.Fprintf(g.stdout, "%d of %d hosts would change\n", changed, len(out))
	return nil
}

func diffHost(ctx context.Context, conn *deploy.SSHHosts, base, host string, set *configset.Set) hostDiff {
	d := hostDiff{Host: host, Version: set.Version}
	r, err := conn.Runner(ctx, host)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	if d.Live, err = configset.Current(ctx, r, base); err != nil {
		d.Error = err.Error()
		return d
	}
	livePaths, err := configset.CurrentPaths(ctx, r, base)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	rendered := map[string][]byte{}
	for _, f := range set.Files {
		rendered[f.Path] = f.Content
	}
	paths := set.Paths()
	for _, p := range livePaths {
		if !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	live, err := configset.Live(ctx, r, paths)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	for _, p := range paths {
		if diff := configset.Diff(p, live[p], rendered[p]); diff != "" {
			d.Diffs = append(d.Diffs, diff)
		}
	}
	return d
}
