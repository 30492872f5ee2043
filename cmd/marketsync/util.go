package main

import (
	"os"

	"github.com/marketsync/marketsync/internal/engine"
)

var osHostname = os.Hostname

func engineConfig(par int) engine.Config { return engine.Config{Parallelism: par} }
