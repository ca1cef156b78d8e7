/* cli.h: the one command-line layer of both binaries: long options through getopt_long, typed and
 * range-checked values, environment fallbacks, generated help, and subcommand dispatch with `help`.
 *
 * A command describes its options in a const table; each option writes straight into the caller's settings
 * struct (dst), whose initial values are the defaults the help shows. Order of precedence: the value in dst,
 * then the option's environment variable when it is SET (even to ""), then the command line. Every value is
 * checked against its type and range; a bad one is a usage error that names the flag (or the variable) and
 * what it accepts, e.g.
 *   the0-sim soak: invalid value "-1" for --seeds: an integer from 1 to 1000000000 is expected
 * Flags are spelled --name=value or --name value (booleans: --name, --name=true|false); abbreviations are
 * refused; -h and --help print the help on stdout. */
#ifndef T0_CLI_H
#define T0_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cli_type {
    CLI_STR,  /* const char ** (points into argv or the environment) */
    CLI_BOOL, /* bool *: true/false, 1/0, t/f, TRUE/FALSE, True/False (Go's strconv.ParseBool) */
    CLI_I64,  /* int64_t * in [min, max] */
    CLI_U64,  /* uint64_t * in [min, max] (no sign accepted) */
    CLI_INT,  /* int * in [min, max] */
    CLI_UINT, /* unsigned * in [min, max] */
    CLI_LONG, /* long * in [min, max] */
    CLI_NUM,  /* double * in [fmin, fmax] (finite) */
    CLI_DUR,  /* int64_t * milliseconds, Go duration syntax ("30s", "1m30s", "250ms"), in [min, max] ms */
    CLI_ENUM, /* const char ** one of choices ("a|b|c") */
} cli_type;

typedef struct cli_opt {
    const char *name; /* long name without "--" */
    char short_name;  /* 0 = none */
    cli_type type;
    void *dst;
    const char *help;
    const char *env;     /* environment fallback, NULL = none */
    int64_t min;         /* integer and duration ranges, inclusive; min = max = 0: the type's whole range */
    uint64_t max;        /* (durations: 0..INT64_MAX ms) */
    double fmin, fmax;   /* CLI_NUM; both 0: any finite number */
    const char *choices; /* CLI_ENUM: "a|b|c" */
    const char *arg;     /* the value's name in the help ("N", "DIR"); NULL: one by type */
    bool *given;         /* optional: set when the environment or the command line gave the value */
} cli_opt;

typedef struct cli_cmd {
    const char *prog;     /* "the0-sim soak" */
    const char *synopsis; /* what follows prog in the usage line: "[options] FILE..." */
    const char *about;    /* a paragraph under the usage line */
    const cli_opt *opts;
    size_t nopts;
    int min_args, max_args; /* positional arguments; max_args < 0: no limit */
    const char *footer;     /* printed after the options: environment-only variables, exit codes */
    int usage_exit;         /* exit status of a usage error; 0 means 2 (the daemon uses 1, as the reference) */
} cli_cmd;

/* cli_parse returns CLI_CONTINUE when the command should run: its positional arguments are then
 * argv[*first .. argc-1] (getopt_long moves them behind the options). Any other value is the process exit
 * status: 0 after -h/--help (help on OUT), the usage exit status after an error (message and a pointer to
 * --help on ERR). ARGV[0] is the command's name. OUT/ERR NULL: stdout/stderr. */
#define CLI_CONTINUE (-1)
int cli_parse(const cli_cmd *c, int argc, char **argv, int *first);
int cli_parse_to(const cli_cmd *c, int argc, char **argv, int *first, FILE *out, FILE *err);

/* cli_usage: the help of C, with the defaults read from the options' dst as they are now. */
void cli_usage(const cli_cmd *c, FILE *f);

/* cli_usage_error: print "PROG: <message>" and the pointer to --help on stderr; returns the usage exit
 * status, for checks a command makes after cli_parse (two flags that exclude each other, a bad file). */
int cli_usage_error(const cli_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cli_parse_duration: a Go duration ("30s", "1m30s", "1.5h", "300ms", "2h45m"; units ns us µs ms s m h; an
 * optional sign; "0" alone) into milliseconds (sub-millisecond parts dropped). False when malformed or out of
 * range. cli_format_duration writes the shortest Go-style spelling of MS ("1m30s", "250ms", "0s"). */
bool cli_parse_duration(const char *s, int64_t *ms);
void cli_format_duration(int64_t ms, char *buf, size_t cap);
/* cli_parse_bool: Go's strconv.ParseBool spellings. */
bool cli_parse_bool(const char *s, bool *out);

/* ---- subcommands ----------------------------------------------------------------------------------- */
typedef struct cli_sub {
    const char *name;    /* "soak" */
    const char *args;    /* shown after the name in the command list: "[--seeds N] ..." */
    const char *summary; /* one line */
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
} cli_sub;

typedef struct cli_group {
    const char *prog;  /* "the0-sim" */
    const char *about; /* a paragraph */
    const cli_sub *subs;
    size_t nsubs;
    const char *footer;
    int usage_exit; /* as in cli_cmd */
} cli_group;

/* cli_dispatch: ARGV[0] is the group's name. No command: help on stderr, usage exit status. `help`, -h,
 * --help: help on stdout, 0. `help CMD`: CMD's own help (CMD run with --help). An unknown command: usage
 * error. Otherwise the exit status of the subcommand, run with ARGV shifted by one. */
int cli_dispatch(const cli_group *g, int argc, char **argv);
void cli_group_usage(const cli_group *g, FILE *f);

#endif
