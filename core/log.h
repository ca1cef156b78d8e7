/* log.h: leveled, structured (logfmt) logging with a replaceable sink, so the simulator can stamp
 * virtual time and the runtime can write to stderr. */
#ifndef T0_LOG_H
#define T0_LOG_H

typedef enum t0_log_level { T0_LOG_DEBUG = 0, T0_LOG_INFO, T0_LOG_WARN, T0_LOG_ERROR, T0_LOG_OFF } t0_log_level;

/* A sink receives one finished message. COMPONENT is e.g. "bot-controller"; MSG has no newline. */
typedef void (*t0_log_sink)(void *ud, t0_log_level lvl, const char *component, const char *msg);

/* t0_log_set_sink: route messages to SINK (NULL restores the default stderr logfmt sink). Not
 * thread-safe against concurrent t0_log calls: set it at start-up. */
void t0_log_set_sink(t0_log_sink sink, void *ud);
void t0_log_set_level(t0_log_level min);
t0_log_level t0_log_get_level(void);
/* t0_log_level_parse: "debug"|"info"|"warn"|"error"|"off" -> level; returns -1 when unknown. */
int t0_log_level_parse(const char *s);
const char *t0_log_level_name(t0_log_level lvl);

void t0_log(t0_log_level lvl, const char *component, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define T0_DEBUG(comp, ...) t0_log(T0_LOG_DEBUG, comp, __VA_ARGS__)
#define T0_INFO(comp, ...) t0_log(T0_LOG_INFO, comp, __VA_ARGS__)
#define T0_WARN(comp, ...) t0_log(T0_LOG_WARN, comp, __VA_ARGS__)
#define T0_ERROR(comp, ...) t0_log(T0_LOG_ERROR, comp, __VA_ARGS__)

#endif
