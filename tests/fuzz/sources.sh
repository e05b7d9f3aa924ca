# The project sources each fuzz target is built from, for tests/fuzz/run.sh
# (clang, libFuzzer) and tests/e2e/fuzz_regress.sh (gcc, the replay driver,
# linked from exactly these objects, so a missing file fails `make check`
# instead of the next `make fuzz`).  Sourced, not run.
fuzz_sources() {
    case $1 in
    decode) echo src/decode.c src/ipfrag.c src/addr.c src/limits.c ;;
    http)   echo src/http.c src/http_pair.c src/http_scan.c src/addr.c src/limits.c ;;
    stream) echo src/flow.c src/reasm.c src/http.c src/http_pair.c src/http_scan.c src/addr.c src/limits.c ;;
    cors)   echo src/cors.c src/cors_lists.c src/cors_text.c ;;
    pcapfile) echo src/pcapfile.c ;;
    tls)    echo src/tls_conn.c src/tls_conn_hold.c src/tls_hs.c src/tls_keys.c src/tls_keylog.c ;;
    esac
}
