// Package inventory loads deployctl's configuration: the base file
// (deployctl.yaml), one file per environment that overlays it and holds that
// environment's hosts and groups, strict decoding (an unknown key is an
// error), defaults, and a validation pass that reports every problem at once
// with its file, line and field path.
//
// Layout on disk:
//
//	deployctl.yaml                          app, source, ssh, service, pool, checks, rollout
//	environments/<env>/inventory.yaml       vars, hosts, groups, and any base key to override
//
// Each section is typed by the package that uses it (ssh by pkg/sshx, pool
// by pkg/pool, checks by checks, config by pkg/configset), so inventory
// imports checks for checks.Spec: the one import beside deploy's.
//
// An environment file overlays the base: mappings merge key by key, scalars
// and lists replace. Groups are ordered by rollout.groups when it is set,
// otherwise by their order in the environment file.
package inventory
