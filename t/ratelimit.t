#!/usr/bin/perl

# Tests for helicone rate limits in shared memory: request and cents
# policies, per user and per property, the response headers and the 429,
# exact counting under concurrency, and buckets kept across a reload.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;
use HgRatelimitTests;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

HgRatelimitTests::run($t, 'helicone_store shm zone=limits:1m;');

$t->stop;
$t->check_no_alerts;

done_testing;
