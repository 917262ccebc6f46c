package main

import (
	"os"

	"github.com/chainnet/chainnet/internal/config"
)

func lookupEnv(prefix, flag string) (string, bool) { return os.LookupEnv(config.EnvName(prefix, flag)) }
