package inventory

import (
	"time"

	"github.com/deployctl/deployctl/checks"
	"github.com/deployctl/deployctl/pkg/configset"
	"github.com/deployctl/deployctl/pkg/deploymetrics"
	"github.com/deployctl/deployctl/pkg/notify"
	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/sshx"
)

// Defaults for the base configuration.
const (
	DefaultDeployDir        = "/srv/deploy"
	DefaultKeepReleases     = 5
	DefaultEnvFile          = "environments/%s/inventory.yaml"
	DefaultStopTimeout      = 30 * time.Second
	DefaultStartTimeout     = 30 * time.Second
	DefaultPortTimeout      = 30 * time.Second
	DefaultHealthyDeadline  = 2 * time.Minute
	DefaultProgressDeadline = 30 * time.Minute
)

// Config is the configuration of one environment: the base file with the
// environment's file laid over it.
type Config struct {
	App          string        `yaml:"app"`           // required: the application name, used in paths
	Source       Source        `yaml:"source"`        // where the code comes from
	DeployDir    string        `yaml:"deploy_dir"`    // on targets; releases live in <deploy_dir>/<app>/
	KeepReleases int           `yaml:"keep_releases"` // releases kept per host besides current and last good
	StateDir     string        `yaml:"state_dir"`     // on the deploy host; default /var/lib/deployctl, shared by the deploy group
	State        StateConfig   `yaml:"state"`         // where the lock and the record live: local (default) or etcd
	SSH          sshx.Config   `yaml:"ssh"`
	Service      Service       `yaml:"service"`
	Pool         pool.Config   `yaml:"pool"`
	Checks       []checks.Spec `yaml:"checks"`
	Rollout      Rollout       `yaml:"rollout"`
	Hooks        Hooks         `yaml:"hooks"`
	// Files is the configuration deployed with the code: templates in the
	// source repo rendered per host (the "config:" section).
	Files configset.Spec `yaml:"config"`
	// Notify says who is told when a rollout starts and ends (webhooks,
	// commands); Metrics where deploy metrics go (textfile, Pushgateway).
	Notify  notify.Config        `yaml:"notify"`
	Metrics deploymetrics.Config `yaml:"metrics"`
	// SchemaVersionFile names a file in the repo holding the storage schema
	// version (an integer) the code applies at start; see the schema guard.
	SchemaVersionFile string `yaml:"schema_version_file"`

	// Environments names the environments; each has its own file. Base only.
	Environments map[string]EnvRef `yaml:"environments"`

	// Environment-file keys (also allowed in the base file for vars).
	Vars   map[string]string `yaml:"vars"`
	Hosts  []Host            `yaml:"hosts"`
	Groups Groups            `yaml:"groups"`
}

// Source says where the code of the application comes from.
type Source struct {
	Repo string `yaml:"repo"` // a local path (relative to the config file) or a git URL
}

// EnvRef points at an environment's file.
type EnvRef struct {
	File string `yaml:"file"` // default environments/<name>/inventory.yaml, relative to the base file
}

// Service says how to control the application on a host. Either SystemdUnit
// is set, or Start and Stop are argv lists. Argv elements may use per-host
// placeholders: {host}, {address}, {port}, {app}, {env}, {group},
// {deploy_dir}, {release_dir}, {current_dir}, {rev} and inventory vars.
type Service struct {
	Name         string        `yaml:"name"`
	SystemdUnit  string        `yaml:"systemd_unit"`
	Start        []string      `yaml:"start"`
	Stop         []string      `yaml:"stop"`
	Restart      []string      `yaml:"restart"` // optional; default stop then start
	Reload       []string      `yaml:"reload"`  // optional; used by config-only deploys that allow reload
	Port         int           `yaml:"port"`
	StopTimeout  time.Duration `yaml:"stop_timeout"`
	StartTimeout time.Duration `yaml:"start_timeout"`
	PortTimeout  time.Duration `yaml:"port_timeout"`
}

// Rollout is the promotion policy.
type Rollout struct {
	Groups           []string      `yaml:"groups"`            // order of groups; default file order
	BatchSize        BatchSize     `yaml:"batch_size"`        // 1, "25%", or a ramp [1, 5, "20%"]
	FailureLimit     int           `yaml:"failure_limit"`     // failed hosts tolerated before the rollout rolls back
	CanaryWait       time.Duration `yaml:"canary_wait"`       // pause after the first group before its canary checks
	MinHealthyTime   time.Duration `yaml:"min_healthy_time"`  // pooled checks must hold this long
	HealthyDeadline  time.Duration `yaml:"healthy_deadline"`  // depooled checks must pass within this
	ProgressDeadline time.Duration `yaml:"progress_deadline"` // the whole rollout fails past this
}

// Hooks are argv commands run at named points of a rollout, each bounded
// by its timeout, with the rollout's facts in DEPLOYCTL_* environment
// variables. A failing before_rollout or before_host hook stops the rollout
// before anything changes (on that host).
type Hooks struct {
	BeforeRollout []Hook `yaml:"before_rollout"` // once, before any host changes
	BeforeHost    []Hook `yaml:"before_host"`    // per host, after depool, before stop
	AfterHost     []Hook `yaml:"after_host"`     // per host, after its pooled checks
	AfterRollout  []Hook `yaml:"after_rollout"`  // once, after every host is done
	OnFailure     []Hook `yaml:"on_failure"`     // once, after a rollback
}

// DefaultHookTimeout bounds a hook that sets no timeout.
const DefaultHookTimeout = 5 * time.Minute

// Hook is one command. It runs on the deploy host, or over SSH on the host
// named by Host; in before_host and after_host, Host "each" means the host
// being deployed.
type Hook struct {
	Name    string        `yaml:"name"`
	Argv    []string      `yaml:"argv"`
	Host    string        `yaml:"host"`
	Timeout time.Duration `yaml:"timeout"`
}

// HookOnEach is the Host of a per-host hook that runs on the host being
// deployed.
const HookOnEach = "each"

// Host is one target machine.
type Host struct {
	Name    string            `yaml:"name"`
	Address string            `yaml:"address"`
	SSHPort int               `yaml:"ssh_port"` // overrides ssh.port
	Vars    map[string]string `yaml:"vars"`
}
