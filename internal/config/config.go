// Package config owns how a command's flags are also read from environment variables and from a
// YAML or JSON config file, with precedence flag > environment > file > default, so that
// Kubernetes manifests can configure a node with a mounted file or env vars instead of long
// argument lists.
package config

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

// EnvName is the environment variable for a flag: PREFIX_FLAG_NAME.
func EnvName(prefix, flag string) string {
	return prefix + "_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Apply sets every flag not given on the command line from the environment (prefix) or, failing
// that, from the config file at path (if path is not empty). List flags take comma-separated env
// values and YAML lists. Unknown keys in the file are errors that name the key.
func Apply(fs *pflag.FlagSet, prefix, path string) error {
	file, err := readFile(path)
	if err != nil {
		return err
	}
	for key := range file {
		if fs.Lookup(key) == nil {
			return fmt.Errorf("config file %s: unknown key %q (keys are flag names, e.g. api-addr)", path, key)
		}
	}
	var errs []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		if v, ok := os.LookupEnv(EnvName(prefix, f.Name)); ok {
			if err := setFlag(fs, f, splitList(f, v)); err != nil {
				errs = append(errs, fmt.Sprintf("environment %s: %v", EnvName(prefix, f.Name), err))
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			vals, err := fileValues(v)
			if err == nil {
				err = setFlag(fs, f, vals)
			}
			if err != nil {
				errs = append(errs, fmt.Sprintf("config file %s: key %q: %v", path, f.Name, err))
			}
		}
	})
	if len(errs) > 0 {
		sort.Strings(errs)
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func readFile(path string) (map[string]any, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return m, nil
}

func isList(f *pflag.Flag) bool {
	return strings.HasSuffix(f.Value.Type(), "Slice") || strings.HasSuffix(f.Value.Type(), "Array")
}

func splitList(f *pflag.Flag, v string) []string {
	if !isList(f) {
		return []string{v}
	}
	var out []string
	for _, part := range strings.Split(v, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func fileValues(v any) ([]string, error) {
	switch t := v.(type) {
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, err := scalar(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	default:
		s, err := scalar(v)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
}

func scalar(v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case bool:
		return fmt.Sprint(t), nil
	case float64:
		if t == float64(int64(t)) {
			return fmt.Sprint(int64(t)), nil
		}
		return fmt.Sprint(t), nil
	case nil:
		return "", nil
	default:
		return "", fmt.Errorf("want a string, number, boolean or list, got %T", v)
	}
}

func setFlag(fs *pflag.FlagSet, f *pflag.Flag, vals []string) error {
	if isList(f) && len(vals) == 0 {
		return nil
	}
	for _, v := range vals {
		if err := fs.Set(f.Name, v); err != nil {
			return err
		}
	}
	return nil
}
