package deploymetrics

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/common/expfmt"

	"github.com/deployctl/deployctl/pkg/field"
)

// textfileMode lets node_exporter, running as another user, read the file.
const textfileMode os.FileMode = 0o644

// Write renders c for app in env and writes it to every output cfg names:
// the textfile, then the Pushgateway. One failing does not stop the other;
// the error joins both. Write is best effort for its caller: it returns
// errors to log and stays within pushgateway.timeout.
func Write(ctx context.Context, cfg Config, app, env string, c Counters) error {
	if !cfg.Enabled() {
		return nil
	}
	if ferrs := cfg.Validate(); len(ferrs) > 0 {
		errs := make([]error, 0, len(ferrs))
		for _, fe := range field.Prefix("metrics", ferrs) {
			errs = append(errs, fe)
		}
		return errors.Join(errs...)
	}
	if app == "" || env == "" {
		return fmt.Errorf("metrics: app and env must not be empty (app %q, env %q)", app, env)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	cfg = cfg.WithDefaults()
	body := Render(app, env, c)
	var errs []error
	if cfg.Textfile != "" {
		if err := writeTextfile(textfilePath(cfg.Textfile, app, env), body); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.Pushgateway.URL != "" {
		if err := push(ctx, cfg.Pushgateway, app, env, body); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// writeTextfile replaces path with data so that node_exporter, or the file
// after a crash, sees either the old content or the new, never a part: a
// temp file in the same directory (whose name does not end in .prom, so the
// collector skips it), fsync, rename over path, fsync of the directory.
func writeTextfile(path string, data []byte) (err error) {
	fail := func(err error) error { return fmt.Errorf("metrics textfile %s: %w", path, err) }
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fail(err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp makes it 0600; Chmod is not subject to the umask.
	if err := f.Chmod(textfileMode); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	if d, err := os.Open(dir); err == nil {
		// The rename is done; a directory that cannot be synced (some
		// filesystems refuse) only makes it less durable.
		d.Sync()
		d.Close()
	}
	return nil
}

// maxErrBody bounds what an error shows of a non-2xx answer.
const maxErrBody = 512

// push PUTs body to the Pushgateway group job/app/env, replacing the
// group's metrics as a whole.
func push(ctx context.Context, pg PushgatewayConfig, app, env string, body []byte) error {
	base, err := parsePushURL(pg.URL)
	if err != nil {
		return fmt.Errorf("metrics pushgateway: %w", err)
	}
	user := base.User
	base.User = nil
	target := strings.TrimRight(base.String(), "/") + "/metrics/" +
		pathPair("job", pg.Job) + "/" + pathPair(LabelApp, app) + "/" + pathPair(LabelEnv, env)
	fail := func(err error) error { return fmt.Errorf("metrics pushgateway: PUT %s: %w", target, err) }

	ctx, cancel := context.WithTimeout(ctx, pg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, bytes.NewReader(body))
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Content-Type", string(expfmt.FmtText))
	req.Header.Set("User-Agent", "deployctl")
	if user != nil {
		pass, _ := user.Password()
		req.SetBasicAuth(user.Username(), pass)
	}
	client := &http.Client{
		// A redirect is an answer to report, not to follow with the
		// credentials and body.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error repeats the URL; ours is in fail already.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s: %w", pg.Timeout, err)
		}
		return fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrBody))
		msg := strings.Join(strings.Fields(strings.ToValidUTF8(string(snippet), "?")), " ")
		if msg != "" {
			return fail(fmt.Errorf("%s: %s", resp.Status, msg))
		}
		return fail(errors.New(resp.Status))
	}
	// Let the connection be reused, within the timeout and a bound.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}

// pathPair is one label of the Pushgateway grouping key as path segments:
// name/value, or name@base64/<base64url> for a value that cannot be one
// path segment (empty, with a slash, "." or "..").
func pathPair(name, value string) string {
	if value == "" || value == "." || value == ".." || strings.Contains(value, "/") {
		enc := base64.RawURLEncoding.EncodeToString([]byte(value))
		if enc == "" {
			enc = "=" // the Pushgateway's spelling of an empty value
		}
		return name + "@base64/" + enc
	}
	return name + "/" + url.PathEscape(value)
}
