/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * A Kafka cluster for the tests: librdkafka's mock cluster, which speaks
 * the real protocol on loopback ports.
 *
 *     mock_cluster BROKERS PARTITIONS TOPIC...
 *
 * prints "bootstrap HOST:PORT,..." once the topics exist, then reads
 * commands on stdin, one a line, and answers each with "ok" or
 * "error ...":
 *
 *     down BROKER            the broker drops its connections, refuses new
 *     up BROKER              and takes them again
 *     leader PARTITION BROKER    moves the partition of every topic
 *     error COUNT CODE       the next COUNT Produce requests fail with
 *                            the Kafka error CODE (a number)
 *     quit
 *
 * Brokers are numbered from 1. End of input is "quit".
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>


static int mock_cluster_command(rd_kafka_mock_cluster_t *mc, char *line,
    char **topics, int ntopics);
static void mock_cluster_reply(rd_kafka_resp_err_t err);


int
main(int argc, char **argv)
{
    int                       i, brokers, partitions, replicas;
    char                      errstr[512], line[256];
    rd_kafka_t               *rk;
    rd_kafka_conf_t          *conf;
    rd_kafka_resp_err_t       err;
    rd_kafka_mock_cluster_t  *mc;

    if (argc < 4) {
        fprintf(stderr, "usage: mock_cluster BROKERS PARTITIONS TOPIC...\n");
        return 2;
    }

    brokers = atoi(argv[1]);
    partitions = atoi(argv[2]);

    if (brokers < 1 || partitions < 1) {
        fprintf(stderr, "mock_cluster: bad broker or partition count\n");
        return 2;
    }

    replicas = brokers < 3 ? brokers : 3;

    /* the cluster lives in a handle with no brokers of its own */

    conf = rd_kafka_conf_new();

    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr))
        != RD_KAFKA_CONF_OK)
    {
        fprintf(stderr, "mock_cluster: %s\n", errstr);
        return 1;
    }

    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "mock_cluster: rd_kafka_new(): %s\n", errstr);
        return 1;
    }

    mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (mc == NULL) {
        fprintf(stderr, "mock_cluster: rd_kafka_mock_cluster_new() failed\n");
        return 1;
    }

    for (i = 3; i < argc; i++) {
        err = rd_kafka_mock_topic_create(mc, argv[i], partitions, replicas);

        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "mock_cluster: topic \"%s\": %s\n", argv[i],
                    rd_kafka_err2str(err));
            return 1;
        }
    }

    printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    while (fgets(line, sizeof(line), stdin) != NULL) {
        if (mock_cluster_command(mc, line, &argv[3], argc - 3) != 0) {
            break;
        }
    }

    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);

    return 0;
}


/* one command: 0 to go on, 1 on "quit" */

static int
mock_cluster_command(rd_kafka_mock_cluster_t *mc, char *line, char **topics,
    int ntopics)
{
    int                   i, a, b;
    char                  word[16];
    rd_kafka_resp_err_t   err, *codes;

    a = 0;
    b = 0;

    if (sscanf(line, "%15s %d %d", word, &a, &b) < 1) {
        printf("error empty command\n");
        fflush(stdout);
        return 0;
    }

    if (strcmp(word, "quit") == 0) {
        mock_cluster_reply(RD_KAFKA_RESP_ERR_NO_ERROR);
        return 1;
    }

    if (strcmp(word, "down") == 0) {
        mock_cluster_reply(rd_kafka_mock_broker_set_down(mc, a));
        return 0;
    }

    if (strcmp(word, "up") == 0) {
        mock_cluster_reply(rd_kafka_mock_broker_set_up(mc, a));
        return 0;
    }

    if (strcmp(word, "leader") == 0) {
        err = RD_KAFKA_RESP_ERR_NO_ERROR;

        for (i = 0; i < ntopics && err == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
            err = rd_kafka_mock_partition_set_leader(mc, topics[i], a, b);
        }

        mock_cluster_reply(err);
        return 0;
    }

    if (strcmp(word, "error") == 0 && a > 0) {
        codes = malloc(a * sizeof(rd_kafka_resp_err_t));
        if (codes == NULL) {
            mock_cluster_reply(RD_KAFKA_RESP_ERR__FAIL);
            return 0;
        }

        for (i = 0; i < a; i++) {
            codes[i] = (rd_kafka_resp_err_t) b;
        }

        /* ApiKey 0: Produce */
        rd_kafka_mock_push_request_errors_array(mc, 0, a, codes);
        free(codes);

        mock_cluster_reply(RD_KAFKA_RESP_ERR_NO_ERROR);
        return 0;
    }

    printf("error unknown command \"%s\"\n", word);
    fflush(stdout);

    return 0;
}


static void
mock_cluster_reply(rd_kafka_resp_err_t err)
{
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        printf("ok\n");

    } else {
        printf("error %s\n", rd_kafka_err2str(err));
    }

    fflush(stdout);
}
