/*
 * webhook_post.h: a webhook delivery between webhook.c (its queues, claims
 * and outcomes) and webhook_post.c (its POST).
 */
#ifndef PIGEON_WEBHOOK_POST_H
#define PIGEON_WEBHOOK_POST_H

struct evdns_base;
struct evhttp_connection;
struct event;
struct target;

struct delivery {
	struct target	*t;		/* its queue (webhook.c's) */
	struct delivery	**live;		/* where the queue holds it while it is
					 * in flight: NULL once it is over */
	char		*url;		/* where it goes (one of t's URLs) */
	char		 idstr[24];
	char		 attempt[12];	/* the claim's attempts: its number */
	long long	 signed_at;	/* the t= of its signature: the database's
					 * clock at the claim (0: unknown, the
					 * host's then) */
	struct evhttp_connection *conn;
	struct event	*deadline;
	int		 code;		/* the answer's status, once its head came */
	char		 error[128];	/* why it failed; empty when done */
};

/* Starts the POST of one claimed delivery (its event: NULL when the
 * database did not say); ends it at once (webhook_delivery_end) if it
 * cannot. */
void	 webhook_post_start(struct delivery *, const char *body,
	    const char *event, struct evdns_base *dns);
/* webhook.c: the delivery is over (answered, failed or out of time). */
void	 webhook_delivery_end(struct delivery *);

#endif
