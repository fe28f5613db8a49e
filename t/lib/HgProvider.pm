package HgProvider;

# Tests of provider connections: a test CA for TLS providers, made with
# openssl in the test's directory (ca.crt, and llm.crt / llm.key for the
# names given); the shipped attempt location trusting that CA instead of
# the system's; a chat request routed to one provider.

use strict;
use warnings;

sub openssl {
    my $out = `openssl @_ 2>&1`;
    die "openssl @_: $out" if $?;
}

# HgProvider::certificate($t, 'llm.test', 'other.test'): the first name is the
# subject, all of them are in subjectAltName
sub certificate {
    my ($t, @names) = @_;
    my $d = $t->dir;

    openssl("req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=hg-test-ca"
            . " -keyout $d/ca.key -out $d/ca.crt");
    openssl("req -newkey rsa:2048 -nodes -subj /CN=$names[0]"
            . " -keyout $d/llm.key -out $d/llm.csr");
    $t->write_file('san.ext', 'subjectAltName='
                              . join(',', map { "DNS:$_" } @names) . "\n");
    openssl("x509 -req -in $d/llm.csr -CA $d/ca.crt -CAkey $d/ca.key"
            . " -CAcreateserial -days 2 -extfile $d/san.ext -out $d/llm.crt");
}

# writes attempt-test-ca.conf; false if the shipped file names no CA file
sub attempt_conf {
    my ($t) = @_;
    my $d = $t->dir;

    my $attempt = $t->read_file($t->root . '/conf/helicone_attempt.conf');
    $attempt =~ s{proxy_ssl_trusted_certificate\s+\S+;}
                 {proxy_ssl_trusted_certificate $d/ca.crt;} or return 0;
    $t->write_file('attempt-test-ca.conf', $attempt);

    return 1;
}

# HgProvider::ask($t, $port, 'name'): a gateway request for that provider
sub ask {
    my ($t, $port, $provider) = @_;
    return $t->chat(port => $port, timeout => 15,
                    json => { model => "gpt-4o-mini/$provider",
                              messages => [ { role => 'user',
                                              content => 'hi' } ] });
}

1;
