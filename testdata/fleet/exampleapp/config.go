package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"
)

// Config defaults.
const (
	defaultGreeting        = "hello from exampleapp"
	defaultShutdownTimeout = 5 * time.Second
	maxShutdownTimeout     = time.Minute
)

// config is the optional --config file.
type config struct {
	Greeting        string
	ShutdownTimeout time.Duration
}

func defaultConfig() config {
	return config{Greeting: defaultGreeting, ShutdownTimeout: defaultShutdownTimeout}
}

// loadConfig reads a "key: value" file. Any problem is an error, so that a
// broken config stops the service at start.
func loadConfig(path string) (config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return config{}, err
	}
	cfg, err := parseConfig(b)
	if err != nil {
		return config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

func parseConfig(b []byte) (config, error) {
	cfg := defaultConfig()
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return cfg, fmt.Errorf("line %d: want \"key: value\", got %q", n, line)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if seen[key] {
			return cfg, fmt.Errorf("line %d: %s set twice", n, key)
		}
		seen[key] = true
		switch key {
		case "greeting":
			cfg.Greeting = value
		case "shutdown_timeout":
			d, err := time.ParseDuration(value)
			if err != nil || d <= 0 || d > maxShutdownTimeout {
				return cfg, fmt.Errorf("line %d: shutdown_timeout %q: want a duration in (0, %s]", n, value, maxShutdownTimeout)
			}
			cfg.ShutdownTimeout = d
		default:
			return cfg, fmt.Errorf("line %d: unknown key %q (known: greeting, shutdown_timeout)", n, key)
		}
	}
	if err := sc.Err(); err != nil {
		return cfg, err
	}
	return cfg, nil
}
