# The `az` of Azure's scripts, played by mlk. The runner passes this file as BASH_ENV, so bash reads it before
# a script and the script's `az ml ...` and `az configure ...` lines run unchanged. Any other `az` command is
# not mlk's: it fails. A failing command is named on stderr with its exit code.
az() {
  local rc=0
  case "${1-}" in
    ml) mlk "${@:2}" || rc=$? ;;
    configure) mlk "$@" || rc=$? ;;
    *) echo "az ${1-}: not mlk's" >&2; return 2 ;;
  esac
  ((rc == 0)) || echo "az $*: exit $rc" >&2
  return $rc
}
export -f az
