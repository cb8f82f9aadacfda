package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newHostsCommand(g *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "hosts",
		Short: "List the hosts of an environment with their group and batch",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(*cobra.Command, []string) error { return runHosts(g) },
	}
}

type hostRow struct {
	Name    string            `json:"name"`
	Address string            `json:"address"`
	SSHPort int               `json:"ssh_port,omitempty"`
	Group   string            `json:"group"`
	Batch   int               `json:"batch"`
	Vars    map[string]string `json:"vars,omitempty"`
}

func runHosts(g *GlobalOptions) error {
	env, err := g.loadEnv()
	if err != nil {
		return err
	}
	var rows []hostRow
	for _, b := range env.Batches() {
		for _, name := range b.Hosts {
			h, _ := env.Host(name)
			rows = append(rows, hostRow{Name: h.Name, Address: h.Address, SSHPort: h.SSHPort, Group: b.Group, Batch: b.Index, Vars: h.Vars})
		}
	}
	if g.Output == outputJSON {
		return json.NewEncoder(g.stdout).Encode(rows)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tADDRESS\tSSH PORT\tGROUP\tBATCH")
	for _, r := range rows {
		port := "-"
		if r.SSHPort != 0 {
			port = fmt.Sprint(r.SSHPort)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", r.Name, r.Address, port, r.Group, r.Batch)
	}
	return tw.Flush()
}
